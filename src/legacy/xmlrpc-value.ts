/**
 * XML-RPC values as plain JavaScript, and the limits a decoder holds a remote document to.
 *
 * | XML-RPC            | JavaScript                                     |
 * |--------------------|------------------------------------------------|
 * | string (or bare)   | string                                         |
 * | int, i4            | number, a 32-bit signed integer                |
 * | i8 (extension)     | number, a safe integer                         |
 * | boolean            | boolean                                        |
 * | double             | number (finite)                                |
 * | base64             | Uint8Array                                     |
 * | nil (extension)    | null                                           |
 * | array              | XmlRpcValue[]                                  |
 * | struct             | XmlRpcStruct (null-prototype object)           |
 *
 * dateTime.iso8601 is not supported: no Atlas method takes or returns one.
 */
export type XmlRpcValue = string | number | boolean | Uint8Array | null | XmlRpcValue[] | XmlRpcStruct;

/** An XML-RPC struct: member names to values. */
export interface XmlRpcStruct {
  [member: string]: XmlRpcValue;
}

/** A parsed XML-RPC call: the method name and its parameters. */
export interface MethodCall {
  methodName: string;
  params: XmlRpcValue[];
}

/** A parsed XML-RPC response: a value, or a fault. */
export type MethodResponse = { value: XmlRpcValue } | { fault: { faultCode: number; faultString: string } };

/** Bounds the XML-RPC codec enforces on untrusted documents. */
export interface XmlRpcLimits {
  /** Largest document, in bytes (UTF-8). */
  maxBytes: number;
  /** Arrays and structs nested inside one another, at most. */
  maxDepth: number;
  /** Values in one document, counting every array item and struct member. */
  maxValues: number;
  /** Longest method name. */
  maxMethodNameLength: number;
  /** Longest text of a number or boolean (<int>, <i4>, <i8>, <double>, <boolean>), checked before it is parsed. */
  maxNumberLength: number;
}

/** Default bounds of the XML-RPC codec: document size and nesting depth. */
export const DEFAULT_XMLRPC_LIMITS: Readonly<XmlRpcLimits> = Object.freeze({
  maxBytes: 512 * 1024,
  maxDepth: 16,
  maxValues: 10_000,
  maxMethodNameLength: 128,
  maxNumberLength: 64,
});

/**
 * Fault codes of the "specification for fault code interoperability" (xmlrpc-epi), which
 * Python's and Apache's servers also use: a client can tell a malformed call from a refusal.
 */
export const FAULT_NOT_WELL_FORMED = -32700;
export const FAULT_INVALID_XMLRPC = -32600;
export const FAULT_METHOD_NOT_FOUND = -32601;
export const FAULT_INVALID_PARAMS = -32602;
export const FAULT_INTERNAL = -32603;

export const INT32_MIN = -2_147_483_648;
export const INT32_MAX = 2_147_483_647;
