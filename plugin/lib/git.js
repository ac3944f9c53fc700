// Repository hints for requester_runtime: the repository's name, branch and dirty flag only.
// Never paths, remotes or status text. Probes are bounded (short timeout, small output) and
// cached per workspace so the request path pays for them at most once per TTL.
import { execFile } from "node:child_process";
import path from "node:path";
import { boundedIdentity } from "./identity.js";

const PROBE_TIMEOUT_MS = 250;
const PROBE_MAX_BUFFER = 8 * 1024;
const CACHE_TTL_MS = 60_000;
const CACHE_LIMIT = 64;

/**
 * @typedef {object} GitHints
 * @property {string} [repoName]       basename of the repository's top level
 * @property {string} [gitBranchHint]  current branch (absent when detached)
 * @property {boolean} [gitDirtyHint]  tracked files modified
 */

/**
 * Run one git command, resolving to trimmed stdout or null on any failure or timeout.
 * @param {string} cwd
 * @param {string[]} args
 * @returns {Promise<string | null>}
 */
function probe(cwd, args) {
  return new Promise((resolve) => {
    try {
      execFile(
        "git",
        ["-C", cwd, ...args],
        {
          timeout: PROBE_TIMEOUT_MS,
          maxBuffer: PROBE_MAX_BUFFER,
          encoding: "utf8",
          windowsHide: true,
          env: { ...process.env, GIT_OPTIONAL_LOCKS: "0", GIT_TERMINAL_PROMPT: "0" },
        },
        (error, stdout) => resolve(error ? null : String(stdout).trim()),
      );
    } catch {
      resolve(null);
    }
  });
}

/**
 * Git hints for a workspace directory; `{}` when it is not in a git repository or git is
 * unavailable. Never rejects.
 * @param {string} workspaceDir  an absolute directory
 * @returns {Promise<GitHints>}
 */
export async function probeGitHints(workspaceDir) {
  const toplevel = await probe(workspaceDir, ["rev-parse", "--show-toplevel"]);
  if (!toplevel) return {};
  const repoName = boundedIdentity(path.basename(toplevel));
  if (repoName === null) return {};
  const [branch, status] = await Promise.all([
    probe(workspaceDir, ["rev-parse", "--abbrev-ref", "HEAD"]),
    probe(workspaceDir, ["status", "--porcelain", "--untracked-files=no"]),
  ]);
  /** @type {GitHints} */
  const hints = { repoName };
  const gitBranchHint = branch && branch !== "HEAD" ? boundedIdentity(branch) : null;
  if (gitBranchHint !== null) hints.gitBranchHint = gitBranchHint;
  if (status !== null) hints.gitDirtyHint = status.length > 0;
  return hints;
}

/**
 * A cached `probeGitHints`: one probe per workspace per TTL, concurrent callers share it.
 * @param {{ttlMs?: number, limit?: number, now?: () => number, probe?: (dir: string) => Promise<GitHints>}} [options]
 * @returns {(workspaceDir: string) => Promise<GitHints>}
 */
export function createGitHintsCache(options = {}) {
  const ttlMs = options.ttlMs ?? CACHE_TTL_MS;
  const limit = options.limit ?? CACHE_LIMIT;
  const now = options.now ?? Date.now;
  const run = options.probe ?? probeGitHints;
  /** @type {Map<string, {at: number, hints: Promise<GitHints>}>} */
  const cache = new Map();
  return (workspaceDir) => {
    const hit = cache.get(workspaceDir);
    if (hit && now() - hit.at < ttlMs) return hit.hints;
    const hints = run(workspaceDir).catch(() => /** @type {GitHints} */ ({}));
    cache.delete(workspaceDir);
    cache.set(workspaceDir, { at: now(), hints });
    while (cache.size > limit) {
      const oldest = cache.keys().next().value;
      if (oldest === undefined) break;
      cache.delete(oldest);
    }
    return hints;
  };
}
