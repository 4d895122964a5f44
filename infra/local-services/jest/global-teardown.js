// jest globalTeardown: stops what the setup started; nothing is left running after the tests.
export default async function teardown() {
  await globalThis.__localServices?.stop();
}
