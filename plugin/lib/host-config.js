// What the host's config says about the plugins beside this one (OPENCLAW-HOST.md "Loading and
// registration"): whether CloudSigma's own provider plugin is on, and so which mode to run in,
// and whether this code's other plugin id is on too, and so which of the two steps aside.
// There is no runtime registry of other plugins and load order makes "is it loaded yet"
// unreliable, so this reads the config's effective enable state, as the host's
// `resolveEnableState` does.

import { readSettings } from "./config.js";
import { objectOrEmpty } from "./objects.js";

export const CLOUDSIGMA_PLUGIN_ID = "cloudsigma";
/** This code's two plugin ids: the seed's, for standalone use, and the recorder's, beside CloudSigma's provider. */
export const AFFINITY_PLUGIN_ID = "openclaw-taas-affinity";
export const RECORDER_PLUGIN_ID = "taas-capture";

/** @param {unknown} list @param {string} id */
function lists(list, id) {
  return Array.isArray(list) && list.includes(id);
}

/**
 * Whether the host config turns the plugin `pluginId` on. It counts as installed when the config
 * names it (an entry under `plugins.entries`, or in `plugins.allow`); then it is on unless
 * `plugins.enabled` is false, it is in `plugins.deny`, `plugins.allow` is set without it, or its
 * entry says `enabled: false`. A missing `enabled` key means on.
 * @param {unknown} hostConfig  `api.config`
 * @param {string} pluginId
 * @returns {boolean}
 */
export function pluginEnabledInConfig(hostConfig, pluginId) {
  const plugins = objectOrEmpty(objectOrEmpty(hostConfig).plugins);
  const entry = plugins.entries === undefined ? undefined : objectOrEmpty(plugins.entries)[pluginId];
  const named = entry !== undefined || lists(plugins.allow, pluginId);
  if (!named) return false;
  if (plugins.enabled === false) return false;
  if (lists(plugins.deny, pluginId)) return false;
  if (Array.isArray(plugins.allow) && !plugins.allow.includes(pluginId)) return false;
  return objectOrEmpty(entry).enabled !== false;
}

/**
 * Whether the host config turns CloudSigma's provider plugin on.
 * @param {unknown} hostConfig  `api.config`
 * @returns {boolean}
 */
export function cloudsigmaPluginEnabled(hostConfig) {
  return pluginEnabledInConfig(hostConfig, CLOUDSIGMA_PLUGIN_ID);
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

/**
 * The mode `openclaw-taas-affinity` runs in under this host config, as that plugin decides it from
 * its own entry's `config.mode`.
 * @param {unknown} hostConfig
 * @returns {PluginMode}
 */
function affinityModeIn(hostConfig) {
  const entries = objectOrEmpty(objectOrEmpty(objectOrEmpty(hostConfig).plugins).entries);
  const settings = readSettings(objectOrEmpty(entries[AFFINITY_PLUGIN_ID]).config, { env: {}, home: "/" });
  return pluginMode(settings.mode, hostConfig).mode;
}

/**
 * When the host config enables both of this code's ids, exactly one steps aside, and this says
 * which: a standalone `openclaw-taas-affinity` owns the provider hooks and records everything, so
 * `taas-capture` steps aside; an alongside one would only duplicate the recorder, so it steps
 * aside for `taas-capture` (the id CloudSigma's provider does not call legacy). Both plugins
 * evaluate the same config, so they agree.
 * @param {string} pluginId  the plugin asking
 * @param {unknown} hostConfig  `api.config`
 * @returns {string | null} the one log line of the plugin that steps aside, else null
 */
export function stepAsideLine(pluginId, hostConfig) {
  const other = pluginId === RECORDER_PLUGIN_ID ? AFFINITY_PLUGIN_ID : RECORDER_PLUGIN_ID;
  if (!pluginEnabledInConfig(hostConfig, other)) return null;
  const affinityMode = affinityModeIn(hostConfig);
  const stepsAside = affinityMode === "standalone" ? RECORDER_PLUGIN_ID : AFFINITY_PLUGIN_ID;
  if (stepsAside !== pluginId) return null;
  return pluginId === RECORDER_PLUGIN_ID
    ? `stepping aside: ${AFFINITY_PLUGIN_ID} is also enabled and runs standalone (it owns the cloudsigma provider ` +
        `hooks and records every call, with taas.capture.* and the tab); registering nothing. Disable one of the two.`
    : `stepping aside: ${RECORDER_PLUGIN_ID} is also enabled and records beside CloudSigma's provider, which is what ` +
        `this plugin would do (mode alongside); registering nothing. Remove plugins.entries.${AFFINITY_PLUGIN_ID}.`;
}

/**
 * Whether the host config lets the non-bundled plugin `pluginId` have the conversation hooks
 * (`llm_input`, `llm_output`, …): `plugins.entries.<id>.hooks.allowConversationAccess: true`.
 * @param {unknown} hostConfig  `api.config`
 * @param {string} pluginId
 * @returns {boolean}
 */
export function conversationAccessGranted(hostConfig, pluginId) {
  const entries = objectOrEmpty(objectOrEmpty(objectOrEmpty(hostConfig).plugins).entries);
  return objectOrEmpty(objectOrEmpty(entries[pluginId]).hooks).allowConversationAccess === true;
}
