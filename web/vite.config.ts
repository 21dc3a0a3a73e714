import vue from "@vitejs/plugin-vue";
import Components from "unplugin-vue-components/vite";
import { ElementPlusResolver } from "unplugin-vue-components/resolvers";
import { defineConfig } from "vite";

// Element Plus is imported per component (with its CSS) by the resolver, so each
// screen's chunk carries only what it uses and the sign-in page stays small.
export default defineConfig({
  base: "/",
  plugins: [vue(), Components({ resolvers: [ElementPlusResolver({ importStyle: "css" })], dts: false })],
  define: {
    __VUE_I18N_FULL_INSTALL__: false,
    __VUE_I18N_LEGACY_API__: false,
    __INTLIFY_PROD_DEVTOOLS__: false,
    __VUE_PROD_DEVTOOLS__: false,
  },
  build: { target: "es2020", chunkSizeWarningLimit: 600 },
  server: { port: 5173, host: "127.0.0.1" },
});
