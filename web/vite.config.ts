import { defineConfig } from 'vite';

/**
 * The dashboard's build (`npm run build:web`): Preact with esbuild's automatic JSX, into
 * dist/web, served by the API under /app/. Every script is a file (no inline script, no module
 * preload polyfill), so the page's Content-Security-Policy can forbid inline script.
 */
export default defineConfig({
  root: import.meta.dirname,
  base: '/app/',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: '../dist/web',
    emptyOutDir: true,
    target: 'es2022',
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
  logLevel: 'warn',
});
