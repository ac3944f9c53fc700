import CCryptoSHA

/// The first 16 lowercase hex digits of SHA-256 over the UTF-8 bytes of `string` (SPEC "Affinity identity").
///
/// Every hashed identifier (`oc:`, `host:`, `source:`) is built from this.
public func sha16(_ string: String) -> String {
    var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
    var digestLength: UInt32 = 0
    let bytes = Array(string.utf8)
    let ok = bytes.withUnsafeBytes { input in
        digest.withUnsafeMutableBufferPointer { output in
            EVP_Digest(input.baseAddress, input.count, output.baseAddress, &digestLength, EVP_sha256(), nil)
        }
    }
    // EVP_Digest with the built-in SHA-256 only fails on allocation failure; there is no sane way to go on.
    precondition(ok == 1 && digestLength == 32, "EVP_Digest(SHA-256) failed")
    return hexPrefix(digest, byteCount: 8)
}

private func hexPrefix(_ bytes: [UInt8], byteCount: Int) -> String {
    let digits = Array("0123456789abcdef".unicodeScalars)
    var out = String.UnicodeScalarView()
    for byte in bytes.prefix(byteCount) {
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 0x0f)])
    }
    return String(out)
}
