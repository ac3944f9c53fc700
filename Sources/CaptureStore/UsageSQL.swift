import AffinityCore

/// The SQL that sums usage and names the served model: one place for the rules of SPEC v2 "Usage and
/// prompt-cache figures", used by every query that reports them.
enum UsageSQL {
    /// True for a capture with usage: any token count known.
    static let hasUsage =
        "(input_tokens IS NOT NULL OR output_tokens IS NOT NULL OR cache_read_tokens IS NOT NULL "
        + "OR cache_write_tokens IS NOT NULL)"

    /// The model that served the call: the autorouter's when autorouted, else the one OpenClaw asked for.
    static let servedModel = "(CASE WHEN autorouted = 1 THEN autorouter_model ELSE requested_model END)"

    /// Seven aggregate columns, read back by `Statement.usageTotals(from:)`. Token sums use `total()`, which
    /// never raises an integer overflow (read back saturating at 2^63−1); `sum` of no value is NULL, so the
    /// money sums stay nil when no capture reports them. https://www.sqlite.org/lang_aggfunc.html#sumunc
    static let totals =
        "count(*) FILTER (WHERE \(hasUsage)), total(input_tokens), total(output_tokens), "
        + "total(cache_read_tokens), total(cache_write_tokens), sum(cost_usd), sum(cache_saved_usd)"
}

extension Statement {
    /// The seven `UsageSQL.totals` columns starting at `first`.
    func usageTotals(from first: Int32) -> UsageTotals {
        UsageTotals(
            calls: Int(int64(at: first)),
            inputTokens: int64(at: first + 1),
            outputTokens: int64(at: first + 2),
            cacheReadTokens: int64(at: first + 3),
            cacheWriteTokens: int64(at: first + 4),
            costUsd: optionalDouble(at: first + 5),
            cacheSavedUsd: optionalDouble(at: first + 6)
        )
    }
}
