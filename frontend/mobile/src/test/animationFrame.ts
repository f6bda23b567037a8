// The React Native preset's requestAnimationFrame calls jest.now() inside its timeout: a frame
// requested just before a test file's teardown (a screen still rendering its last answers)
// then throws "accessing the Jest environment after it has been torn down", and Jest exits
// with 1 although every test passed. The same frame timing, without Jest's API.
globalThis.requestAnimationFrame = (callback: FrameRequestCallback): number =>
  setTimeout(() => callback(Date.now()), 0) as unknown as number;
