// Jest with the Expo preset (React Native renderer). The shared package's own tests run once,
// under the web app's Vitest; here only the mobile screens are tested.
module.exports = {
  preset: 'jest-expo',
  roots: ['<rootDir>/src'],
  setupFiles: ['<rootDir>/src/test/animationFrame.ts'],
  testMatch: ['**/__tests__/**/*.test.tsx'],
  transformIgnorePatterns: [
    'node_modules/(?!((jest-)?react-native|@react-native(-community)?)|expo(nent)?|@expo(nent)?/.*|@expo-google-fonts/.*|react-navigation|@react-navigation/.*|@sentry/react-native|native-base|react-native-svg|@reduxjs/toolkit|immer|redux|react-redux|reselect)',
  ],
  testTimeout: 20000,
};
