// What the host's config says about the plugins beside this one (OPENCLAW-HOST.md "Loading and
// registration"): whether CloudSigma's own provider plugin is on, and so which mode to run in.
// There is no runtime registry of other plugins and load order makes "is it loaded yet"
// unreliable, so this reads the config's effective enable state, as the host's
// `resolveEnableState` does.

export const CLOUDSIGMA_PLUGIN_ID = "cloudsigma";

/** @param {unknown} v @returns {Record<string, any>} */
function objectOr(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? /** @type {Record<string, any>} */ (v) : {};
}

/** @param {unknown} list @param {string} id */
function lists(list, id) {
  return Array.isArray(list) && list.includes(id);
}

/**
 * Whether the host config turns CloudSigma's provider plugin on. It counts as installed when
 * the config names it (an entry under `plugins.entries`, or in `plugins.allow`); then it is on
 * unless `plugins.enabled` is false, it is in `plugins.deny`, `plugins.allow` is set without
 * it, or its entry says `enabled: false`. A missing `enabled` key means on.
 * @param {unknown} hostConfig  `api.config`
 * @returns {boolean}
 */
export function cloudsigmaPluginEnabled(hostConfig) {
  const plugins = objectOr(objectOr(hostConfig).plugins);
  const entry = plugins.entries === undefined ? undefined : objectOr(plugins.entries)[CLOUDSIGMA_PLUGIN_ID];
  const named = entry !== undefined || lists(plugins.allow, CLOUDSIGMA_PLUGIN_ID);
  if (!named) return false;
  if (plugins.enabled === false) return false;
  if (lists(plugins.deny, CLOUDSIGMA_PLUGIN_ID)) return false;
  if (Array.isArray(plugins.allow) && !plugins.allow.includes(CLOUDSIGMA_PLUGIN_ID)) return false;
  return objectOr(entry).enabled !== false;
}

/**
 * @typedef {"standalone" | "alongside"} PluginMode
 */

/**
 * The mode to run in: the config's `mode` when it names one, else "alongside" exactly when
 * CloudSigma's provider plugin is on.
 * @param {"auto" | PluginMode} configured
 * @param {unknown} hostConfig
 * @returns {{mode: PluginMode, reason: string}}
 */
export function pluginMode(configured, hostConfig) {
  if (configured === "standalone" || configured === "alongside") return { mode: configured, reason: "set by config mode" };
  return cloudsigmaPluginEnabled(hostConfig)
    ? { mode: "alongside", reason: `the host config enables CloudSigma's provider plugin (${CLOUDSIGMA_PLUGIN_ID})` }
    : { mode: "standalone", reason: "CloudSigma's provider plugin is not enabled in the host config" };
}
