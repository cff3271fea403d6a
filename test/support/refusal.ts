/** What `build` throws, or undefined when it does not throw: for asserting on a synchronous refusal's fields. */
export function refusal(build: () => unknown): unknown {
  try {
    build();
  } catch (error) {
    return error;
  }
  return undefined;
}
