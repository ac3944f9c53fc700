/// The hashed requester host id, `"host:" + sha16(hostname)`; the raw hostname never leaves the host.
public func requesterHostId(hostname: String) -> String {
    "host:" + sha16(hostname)
}
