/// A Bloom filter over dedupe keys (session, key) for one run: ten bits a key and seven probes (under 1 % false
/// positives), from FNV-1a's 64-bit hash split in two (Kirsch–Mitzenmacher). Deterministic, so it is stored
/// beside its run and loaded at start-up instead of being rebuilt.
struct Bloom {
    private(set) var words: [UInt64]
    private let bits: UInt64
    static let probes = 7

    init(keys: Int) {
        let wordCount = max(1, (keys * 10 + 63) / 64)
        words = [UInt64](repeating: 0, count: wordCount)
        bits = UInt64(wordCount * 64)
    }

    init(words: [UInt64]) {
        self.words = words
        bits = UInt64(words.count * 64)
    }

    /// A key's two hashes, worked out once for every filter it is looked up in.
    struct Hashes {
        let first: UInt64
        let second: UInt64

        init(session: String, key: String) {
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in session.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
            hash = hash &* 0x0000_0100_0000_01b3
            for byte in key.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
            first = hash
            second = (hash >> 32 | hash << 32) | 1
        }
    }

    mutating func insert(_ hashes: Hashes) {
        let (first, second) = (hashes.first, hashes.second)
        for probe in 0..<UInt64(Self.probes) {
            let bit = (first &+ probe &* second) % bits
            words[Int(bit >> 6)] |= 1 << (bit & 63)
        }
    }

    func mayContain(_ hashes: Hashes) -> Bool {
        let (first, second) = (hashes.first, hashes.second)
        for probe in 0..<UInt64(Self.probes) {
            let bit = (first &+ probe &* second) % bits
            if words[Int(bit >> 6)] & (1 << (bit & 63)) == 0 { return false }
        }
        return true
    }
}
