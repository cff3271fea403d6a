/**
 * The hash module for the commands that hash (announce, put, get), loaded when one runs: loading
 * it loads the native addon, which `atlas --version` or `atlas status` has no use for.
 */
export async function readyHash(): Promise<typeof import('../hash/index.js')> {
  const hash = await import('../hash/index.js');
  await hash.hashReady();
  return hash;
}
