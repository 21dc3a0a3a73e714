import { createPinia } from "pinia";
import { createApp } from "vue";
import App from "./App.vue";
import { configureApi, loadConfig } from "./api/client";
import { i18n, setLocale, currentLocale } from "./i18n";
import { watchTables } from "./phoneTables";
import { router } from "./router";
import "./style.css";

async function start(): Promise<void> {
  const app = createApp(App);
  app.use(createPinia());
  app.use(i18n);
  setLocale(currentLocale());
  const config = await loadConfig().catch(() => ({ apiBaseUrl: "http://127.0.0.1:8000" }));
  configureApi(config.apiBaseUrl);
  app.use(router);
  app.mount("#app");
  watchTables();
}

void start();
