export { NameResolver, checkName, type NameStatus, type NameEntry, type Resolution, type ResolveOptions, type NameSources } from './names.js';
export { parseZoneFile, ZoneFileError, DEFAULT_ZONEFILE_LIMITS, type ZoneFile, type ZoneRecord, type RecordData, type ZoneFileLimits } from './zonefile.js';
export { subdomainRecords, subdomainHistories, MAX_SUBDOMAIN_PARTS, type SubdomainRecord } from './subdomains.js';
export { namesRoutes, type NameService } from './routes.js';
export { DEFAULT_SUBDOMAIN_INDEX, type SubdomainIndexLimits } from './subdomain-index.js';
