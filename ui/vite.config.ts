import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The dashboard's build (issue #12): Preact through Vite's own JSX transform, into dist/ui, which the daemon reads
 * into a fixed table at start-up (src/daemon/ui/ui-assets.ts). Nothing is inlined (the page's CSP allows only its
 * own files), no module-preload polyfill, no source maps in the package.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/ui', import.meta.url)),
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    target: 'es2022',
  },
});
