/**
 * Runs `body` while the global typed-array constructor `type` refuses, with a RangeError, every
 * array of `minLength` elements or more: an allocation past what the process may hold, without
 * holding it. Smaller arrays, and every other constructor, work as ever; the global is restored
 * on every path (for an async body, once it has settled).
 */
type TypedArrayName = 'Float64Array' | 'Uint8Array' | 'Uint32Array';
type TypedArrayType = Float64ArrayConstructor | Uint8ArrayConstructor | Uint32ArrayConstructor;

export function withTypedArrayRefused<T>(type: TypedArrayType, minLength: number, body: () => T): T {
  const restore = refuse(type, minLength);
  try {
    return body();
  } finally {
    restore();
  }
}

export async function withTypedArrayRefusedAsync<T>(type: TypedArrayType, minLength: number, body: () => Promise<T>): Promise<T> {
  const restore = refuse(type, minLength);
  try {
    return await body();
  } finally {
    restore();
  }
}

function refuse(type: TypedArrayType, minLength: number): () => void {
  const name = type.name as TypedArrayName;
  const original = globalThis[name];
  const refusing: TypedArrayType = new Proxy(original, {
    construct(target, args: unknown[], newTarget): object {
      if (typeof args[0] === 'number' && args[0] >= minLength) throw new RangeError(`${name}(${args[0]}): refused for the test`);
      return Reflect.construct(target, args, newTarget === refusing ? target : newTarget);
    },
  });
  (globalThis as Record<string, unknown>)[name] = refusing;
  return () => {
    (globalThis as Record<string, unknown>)[name] = original;
  };
}
