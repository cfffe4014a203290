import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 120_000,
    // Call-flow files share one network namespace and fixed SIP ports: one file at a time.
    fileParallelism: false,
  },
});
