// taas-capture: the recorder beside CloudSigma's provider plugin (SPEC v3 "The recorder beside
// CloudSigma's provider"). The same code as openclaw-taas-affinity (../plugin), under the id that
// provider does not warn about, always in alongside mode: usage from llm_output, taas.capture.*,
// the dashboard tab; no provider hooks and no taas.autorouter.* methods.
//
// The shared code is imported from ../plugin, so this package is installed linked
// (`openclaw plugins install -l <repo>/plugin-recorder`, or its path in `plugins.load.paths`):
// the host checks only that the entry file lies inside this directory (src/plugins/discovery.ts,
// loader.ts); a copying install would leave ../plugin behind.
import { RECORDER_PLUGIN, pluginEntry } from "../plugin/index.js";

export default pluginEntry(RECORDER_PLUGIN);
