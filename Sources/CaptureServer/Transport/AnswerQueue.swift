import NIOCore

/// The answers of one connection's lines, in the order the lines came (pipelining): each line gets a
/// sequence number when it is read, its answer parts are filled in whenever they complete (a query at
/// once, a record after its commit), and a line leaves the queue only once it and every line before it
/// are answered.
struct AnswerQueue {
    /// One line's answer: one part for a single request, one per answered entry of a batch.
    private struct Line {
        var parts: [ByteBuffer?]
        var remaining: Int
        var isBatch: Bool
        var closeAfter = false
    }

    private var lines = CircularBuffer<Line>(initialCapacity: 16)
    private var firstSeq = 0
    private var nextSeq = 0

    /// Lines read and not yet written.
    var count: Int { lines.count }
    var isEmpty: Bool { lines.isEmpty }

    /// Opens a line expecting `parts` answers (0 for a notification); returns its sequence number.
    mutating func open(parts: Int, isBatch: Bool) -> Int {
        lines.append(Line(parts: Array(repeating: nil, count: parts), remaining: parts, isBatch: isBatch))
        defer { nextSeq += 1 }
        return nextSeq
    }

    /// Fills in one part; `closeAfter` closes the connection once this line is written. Returns whether
    /// the head of the queue may now be ready. A line already dropped (connection closing) is ignored.
    mutating func fill(seq: Int, part: Int, with answer: ByteBuffer, closeAfter: Bool) -> Bool {
        guard seq >= firstSeq, seq < nextSeq else { return false }
        let index = lines.index(lines.startIndex, offsetBy: seq - firstSeq)
        lines[index].parts[part] = answer
        lines[index].remaining -= 1
        if closeAfter { lines[index].closeAfter = true }
        return seq == firstSeq
    }

    /// Takes the head line when it is fully answered: its rendered bytes (nil for notifications only)
    /// and whether the connection closes after it.
    mutating func popReady(allocator: ByteBufferAllocator) -> (line: ByteBuffer?, closeAfter: Bool)? {
        guard let first = lines.first, first.remaining == 0 else { return nil }
        lines.removeFirst()
        firstSeq += 1
        return (first.parts.isEmpty ? nil : Self.render(first, allocator: allocator), first.closeAfter)
    }

    /// Whether the line `seq` is a batch (its parts are joined into an array when written).
    func isBatch(seq: Int) -> Bool {
        guard seq >= firstSeq, seq < nextSeq else { return false }
        return lines[lines.index(lines.startIndex, offsetBy: seq - firstSeq)].isBatch
    }

    /// Drops every unwritten line (the connection is closing).
    mutating func removeAll() {
        firstSeq = nextSeq
        lines.removeAll()
    }

    /// A single answer (already ending in its newline), or a batch's answers as one JSON array line.
    private static func render(_ line: Line, allocator: ByteBufferAllocator) -> ByteBuffer {
        if !line.isBatch, let single = line.parts[0] { return single }
        var out = allocator.buffer(capacity: line.parts.reduce(3) { $0 + ($1?.readableBytes ?? 0) + 1 })
        out.writeInteger(UInt8(ascii: "["))
        for (i, part) in line.parts.enumerated() {
            if i > 0 { out.writeInteger(UInt8(ascii: ",")) }
            if let part { out.writeImmutableBuffer(part) }
        }
        out.writeStaticString("]\n")
        return out
    }
}
