/** jest globalTeardown: stops what the setup started; nothing is left running after the tests. */
export default async function teardown(): Promise<void> {
  await globalThis.__localServices?.stop();
}
