/**
 * Subdomains: a parent name's zone file holds, for each subdomain, a TXT record named after it
 * with the strings `owner=<address>`, `seqn=<n>`, `parts=<k>`, `zf0=`..`zf<k-1>=` (base64 pieces of
 * the subdomain's zone file) and optionally `sig=<base64>`. Replaying the parent's zone files in
 * chain order gives each subdomain's history: the first record must have seqn 0, and each later
 * change seqn + 1; records breaking that rule are ignored (a republished identical record is not a
 * change). One zone file changes a subdomain at most once: of its records of one name, only the one
 * with the lowest seqn (the first of equals) is read. The TXT names `_missing`, `_resolver` and
 * `_registrar` are reserved and name no subdomain. Signatures are kept but not verified (see README
 * "Stacks and BNS names").
 *
 * The rules are those of the original resolver, Blockstack's Python `blockstack/lib/subdomains.py`
 * (stacks-network/stacks-core, last at 4711f10f48af, `decode_zonefile_subdomains`), the reference
 * implementation of subdomains; where stacks-blockchain-api reads more leniently we say so below.
 */
import { hash160Hex } from '../hash/index.js';
import type { ZoneFile, ZoneRecord } from './zonefile.js';

/** Most zone-file pieces one subdomain record may have (and so about 255 x 255 bytes). */
export const MAX_SUBDOMAIN_PARTS = 255;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/**
 * A subdomain label: the characters of a BNS name, `+` included. The Python resolver takes
 * `[a-z0-9-_+]` after lowercasing the record name (`OP_NAME_CHARS_NOPERIOD`,
 * blockstack/lib/schemas.py at 4711f10f48af; it sets no length, `fqn_max` is 37), the registrar
 * registers `/^[a-z0-9\-_+]{1,37}$/` (stacks-network/subdomain-registrar src/lookups.ts) and
 * stacks-blockchain-api checks no label at all (src/datastore/pg-write-store.ts,
 * updateAttachments). We keep the 37. (parseZoneFile does not yet take `+` in an owner name: it
 * refuses a parent zone file holding one, so only a ZoneFile built otherwise reaches this.)
 */
const LABEL = /^[a-z0-9_+-]{1,37}$/i;
/**
 * TXT names the Python resolver skips before reading a subdomain record (`SUBDOMAIN_TXT_RR_RESERVED`,
 * compared after lowercasing, in blockstack/lib/subdomains.py at 4711f10f48af): `_missing` lists
 * zone files the parent declares missing, `_resolver` and `_registrar` name services. A record of
 * one of them with owner=, seqn= and parts= names no subdomain there. stacks-blockchain-api skips
 * only TXT records without an owner (src/datastore/pg-write-store.ts, updateAttachments), so it
 * would serve `_registrar.<parent>`; we follow the reference, which resolves fewer names.
 */
const RESERVED_LABELS: ReadonlySet<string> = new Set(['_missing', '_resolver', '_registrar']);
/** Decimal digits only, few enough to be a safe integer. */
const DECIMAL = /^\d{1,15}$/;

/** One subdomain's state as a parent's zone file records it: full name, owner, sequence number and the subdomain's own zone file. */
export interface SubdomainRecord {
  /** Full name, "sub.name.namespace". */
  name: string;
  owner: string;
  seqn: number;
  zonefile: Uint8Array;
  /** hash160 of the subdomain's zone file. */
  zonefileHash: string;
  signature?: string;
}

/**
 * The subdomain records in one parent zone file, one a subdomain (see `replacesInZoneFile`), in
 * the order of the records kept; malformed TXT records are skipped. Concatenated over a parent's
 * zone files in chain order, they are what `subdomainHistories` takes.
 */
export function subdomainRecords(zone: ZoneFile, parent: string): SubdomainRecord[] {
  const kept = new Map<string, { at: number; record: SubdomainRecord }>();
  zone.records.forEach((zoneRecord, at) => {
    const record = subdomainRecord(zoneRecord, parent);
    if (record !== undefined && replacesInZoneFile(kept.get(record.name)?.record, record)) kept.set(record.name, { at, record });
  });
  return [...kept.values()].sort((a, b) => a.at - b.at).map(({ record }) => record);
}

/**
 * Whether `record` replaces `kept`, the record of the same subdomain kept so far from the same
 * parent zone file (undefined when none): only when its seqn is lower. One zone file changes a
 * subdomain at most once, so a record with seqn 0 and one with seqn 1 in the same zone file do not
 * make two changes, and a record whose seqn does not follow the subdomain's last one hides the
 * others of its name in that zone file. This is the Python resolver's rule ("the subdomain with
 * the lower sequence number will be accepted; in the event of a tie, the first", in
 * `decode_zonefile_subdomains`, blockstack/lib/subdomains.py at 4711f10f48af), which keeps one
 * record per name and zone file (its subdomain table's key is the name and the parent zone file).
 * stacks-blockchain-api applies no seqn rule and writes all of a zone file's records in one SQL
 * INSERT ... ON CONFLICT (src/datastore/pg-write-store.ts, updateBatchSubdomains), which
 * PostgreSQL refuses when two rows of one command hit the same key (name, txid, block), so it
 * indexes no subdomain of such a zone file: no safety rule we would lose by following the reference.
 */
export function replacesInZoneFile(kept: SubdomainRecord | undefined, record: SubdomainRecord): boolean {
  return kept === undefined || record.seqn < kept.seqn;
}

/**
 * The subdomain one record of a parent zone file names, or undefined when it names none (not a
 * TXT record of a label, a reserved name, or malformed). As the original resolver reads one
 * (Blockstack's `parse_subdomain_record`): every string is `key=value`, the value with `\=` read
 * as `=`; a string without `=`, or a key given twice, makes the whole record malformed.
 */
export function subdomainRecord(record: ZoneRecord, parent: string): SubdomainRecord | undefined {
  if (record.type !== 'TXT' || !LABEL.test(record.name) || RESERVED_LABELS.has(record.name.toLowerCase())) return undefined;
  const fields = new Map<string, string>();
  for (const text of record.strings) {
    const eq = text.indexOf('=');
    if (eq < 0) return undefined;
    const key = text.slice(0, eq);
    if (fields.has(key)) return undefined;
    fields.set(key, text.slice(eq + 1).replaceAll('\\=', '='));
  }
  const owner = fields.get('owner');
  const seqn = decimal(fields.get('seqn'));
  const parts = decimal(fields.get('parts'));
  if (owner === undefined || owner.length === 0 || owner.length > 128) return undefined;
  if (seqn === undefined || parts === undefined || parts < 1 || parts > MAX_SUBDOMAIN_PARTS) return undefined;
  const pieces: string[] = [];
  for (let i = 0; i < parts; i++) pieces.push(fields.get(`zf${i}`) ?? '\0');
  const encoded = pieces.join('');
  if (!BASE64.test(encoded)) return undefined;
  const zonefile = new Uint8Array(Buffer.from(encoded, 'base64'));
  const item: SubdomainRecord = { name: `${record.name.toLowerCase()}.${parent}`, owner, seqn, zonefile, zonefileHash: hash160Hex(zonefile) };
  const signature = fields.get('sig');
  if (signature !== undefined) item.signature = signature;
  return item;
}

/**
 * A field that must be a decimal number; undefined otherwise. Number() read "", "0x0", "0e5" and
 * " 0 " as 0, which the original resolver's int() refuses (it takes surrounding spaces and a sign,
 * which we refuse too).
 */
function decimal(text: string | undefined): number | undefined {
  return text !== undefined && DECIMAL.test(text) ? Number(text) : undefined;
}

/** The seqn rule: a subdomain's first record has seqn 0, and each change the last one's seqn + 1. */
export function extendsHistory(last: SubdomainRecord | undefined, record: SubdomainRecord): boolean {
  return last === undefined ? record.seqn === 0 : record.seqn === last.seqn + 1;
}

/**
 * Applies the seqn rules to records in chain order; returns each subdomain's accepted history.
 * Records of one zone file must come as `subdomainRecords` gives them, one a subdomain.
 */
export function subdomainHistories(recordsInOrder: Iterable<SubdomainRecord>): Map<string, SubdomainRecord[]> {
  const histories = new Map<string, SubdomainRecord[]>();
  for (const record of recordsInOrder) {
    const history = histories.get(record.name);
    if (!extendsHistory(history?.at(-1), record)) continue;
    if (history) history.push(record);
    else histories.set(record.name, [record]);
  }
  return histories;
}
