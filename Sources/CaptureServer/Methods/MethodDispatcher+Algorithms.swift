import AffinityCore
import CaptureStore
import NIOCore

/// The methods of algorithm overrides: set one, list them.
extension MethodDispatcher {
    func setAlgorithm(_ params: Params, _ completion: @escaping Completion) throws(RPCError) {
        let (selector, algorithm) = try params.algorithmOverride()
        let done = deliver("setAlgorithm", completion) { (buffer, change: OverrideChange) in
            buffer.writeOverrideChange(change)
        }
        try submit(done.change { (writer) throws(StoreError) in
            try writer.setAlgorithm(algorithm, for: selector, now: WallClock.unixMillis())
        })
    }

    /// Reads the small overrides table inline, like `lastRoute`: an indexed range of at most
    /// `OverrideLimits.maxListed` rows.
    func algorithms(_ params: Params) throws(RPCError) -> Result<RPCResult, RPCError> {
        let sinceVersion = try params.integer("sinceVersion", in: 0...Int64.max)
        do {
            let listing = try reader.algorithms(sinceVersion: sinceVersion)
            return encode { $0.writeOverrideListing(listing) }
        } catch {
            return failure(error, "algorithms")
        }
    }
}
