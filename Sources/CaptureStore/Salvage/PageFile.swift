#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One value of an SQLite record: https://www.sqlite.org/fileformat.html#record_format
enum RecordValue: Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
}

/// One cell of a b-tree leaf page, decoded from the bytes themselves: the rowid (table leaves only) and the record.
struct LeafCell: Equatable {
    let rowid: Int64?
    let values: [RecordValue]
}

/// What one page turned out to be when read without SQLite.
enum PageContent {
    /// A table b-tree leaf (0x0D), or an index b-tree page, leaf (0x0A) or interior (0x02): an index b-tree is a
    /// B-tree, not a B+tree, so its interior cells are entries too, and the rows of a WITHOUT ROWID table live in
    /// both. Every cell that decodes to a well-formed record (a damaged cell is left out, never guessed at).
    case tableLeaf([LeafCell]), indexCells([LeafCell])
    /// An interior page of a table b-tree (0x05): child pointers and rowids, no rows.
    case interior
    /// No b-tree page: free, an overflow page, or damaged.
    case other
}

/// An SQLite database file read page by page without SQLite, for salvage: where a damaged b-tree cannot be walked,
/// its leaves can still be read one by one (https://www.sqlite.org/fileformat.html, as the `.recover` command and
/// `sqlite3_recover` do: https://www.sqlite.org/recovery.html). Read-only: the descriptor is opened `O_RDONLY`.
final class PageFile {
    let pageSize: Int
    /// The page size less the bytes reserved at each page's end (header byte 20).
    let usableSize: Int
    let pageCount: Int
    private let fd: Int32
    /// The newest committed versions of pages a WAL beside the file still holds, read in place of the file's.
    private let overlay: WALOverlay?

    /// Opens `path`; the page size comes from its header, or is 4096 (SQLite's default) when the header is damaged.
    /// With `wal`, the newest committed version of each page that WAL holds is read in place of the file's.
    init(path: String, wal: String? = nil) throws(StoreError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        self.fd = fd
        guard fd >= 0 else {
            throw StoreError(code: .cantOpen, message: "cannot read the database file: \(DatabaseFile.errnoText())")
        }
        var header = [UInt8](repeating: 0, count: 100)
        let read = header.withUnsafeMutableBytes { pread(fd, $0.baseAddress, 100, 0) }
        let magic = Array("SQLite format 3".utf8) + [0]
        var size = 4096
        var reserved = 0
        var counted: Int?
        if read == 100, Array(header[0..<16]) == magic {
            let raw = Int(header[16]) << 8 | Int(header[17])
            let candidate = raw == 1 ? 65536 : raw
            if candidate >= 512, candidate <= 65536, candidate & (candidate - 1) == 0 {
                size = candidate
                reserved = Int(header[20])
            }
            // The in-header size is valid when the change counter matches "version valid for": pages past it are
            // left over from before the file shrank, and hold deleted rows.
            let pages = Int(PageBytes.uint32(header, 28))
            if pages > 0, header[24..<28] == header[92..<96] { counted = pages }
        }
        pageSize = size
        usableSize = size - reserved
        let inFile = Int(DatabaseFile.size(path) / Int64(size))
        overlay = wal.flatMap { WALOverlay(path: $0, pageSize: size) }
        pageCount = max(counted.map { min($0, inFile) } ?? inFile, overlay?.lastPage ?? 0)
    }

    deinit { close(fd) }

    /// `count` bytes at `offset`, nil when the file ends before them.
    func bytes(at offset: Int, count: Int) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: count)
        let read = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(offset)) }
        return read == count ? bytes : nil
    }

    /// Page `number` (1-based), its WAL version if there is one, nil past the end or on a read error.
    func page(_ number: Int) -> [UInt8]? {
        guard number >= 1, number <= pageCount else { return nil }
        if let newer = overlay?.page(number) { return newer }
        return bytes(at: (number - 1) * pageSize, count: pageSize)
    }

    /// The pages on the freelist, as far as its trunk pages can be read (empty when page 1 is damaged): their old
    /// contents are rows deleted before, which salvage must not bring back.
    func freePages() -> Set<Int> {
        guard let first = page(1), Array(first[0..<15]) == Array("SQLite format 3".utf8) else { return [] }
        var free: Set<Int> = []
        var trunk = Int(PageBytes.uint32(first, 32))
        var visited: Set<Int> = []
        while trunk != 0, trunk <= pageCount, visited.insert(trunk).inserted, let bytes = page(trunk) {
            free.insert(trunk)
            let leaves = Int(PageBytes.uint32(bytes, 4))
            guard leaves <= (usableSize - 8) / 4 else { break }
            for index in 0..<leaves {
                let leaf = Int(PageBytes.uint32(bytes, 8 + 4 * index))
                if leaf >= 1, leaf <= pageCount { free.insert(leaf) }
            }
            trunk = Int(PageBytes.uint32(bytes, 0))
        }
        return free
    }

    /// What page `number` holds; its overflow chains are followed through this file.
    func content(of number: Int) -> PageContent {
        guard let bytes = page(number) else { return .other }
        return PageBytes(bytes: bytes, headerOffset: number == 1 ? 100 : 0, usableSize: usableSize).content { self.page($0) }
    }
}

/// The b-tree page format of one page's bytes: https://www.sqlite.org/fileformat.html#b_tree_pages
struct PageBytes {
    let bytes: [UInt8]
    /// 100 on page 1 (after the file header), 0 elsewhere.
    let headerOffset: Int
    let usableSize: Int

    /// Larger than any row of ours (strings are bounded: SPEC "Bounds"), so a damaged size cannot make a cell cost
    /// more than a few overflow pages.
    static let largestPayload: Int64 = 1 << 20

    static func uint16(_ bytes: [UInt8], _ at: Int) -> Int { Int(bytes[at]) << 8 | Int(bytes[at + 1]) }

    static func uint32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        UInt32(bytes[at]) << 24 | UInt32(bytes[at + 1]) << 16 | UInt32(bytes[at + 2]) << 8 | UInt32(bytes[at + 3])
    }

    /// A varint at `offset` (1 to 9 bytes, big-endian, the ninth byte whole): its value and length, nil past `end`.
    static func varint(_ bytes: [UInt8], at offset: Int, end: Int) -> (value: Int64, length: Int)? {
        var value: UInt64 = 0
        for index in 0..<9 {
            guard offset + index < end else { return nil }
            let byte = bytes[offset + index]
            if index == 8 { return (Int64(bitPattern: value << 8 | UInt64(byte)), 9) }
            value = value << 7 | UInt64(byte & 0x7f)
            if byte & 0x80 == 0 { return (Int64(bitPattern: value), index + 1) }
        }
        return nil
    }

    func content(overflowPage: (Int) -> [UInt8]?) -> PageContent {
        guard bytes.count >= headerOffset + 12 else { return .other }
        let kind = bytes[headerOffset]
        switch kind {
        case 0x05: return .interior
        case 0x02, 0x0A, 0x0D: break
        default: return .other
        }
        let table = kind == 0x0D
        // Interior pages have a 12-byte header (the right-most child) and a 4-byte left child before each cell.
        let interior = kind == 0x02
        let cellCount = Self.uint16(bytes, headerOffset + 3)
        let pointers = headerOffset + (interior ? 12 : 8)
        guard pointers + 2 * cellCount <= usableSize else { return .other }
        var cells: [LeafCell] = []
        for index in 0..<cellCount {
            let offset = Self.uint16(bytes, pointers + 2 * index) + (interior ? 4 : 0)
            guard offset >= pointers + 2 * cellCount, offset < usableSize,
                let cell = cell(at: offset, table: table, overflowPage: overflowPage)
            else { continue }
            cells.append(cell)
        }
        return table ? .tableLeaf(cells) : .indexCells(cells)
    }

    /// The cell at `offset`, its payload gathered from its overflow pages when it spills; nil when anything is off.
    private func cell(at offset: Int, table: Bool, overflowPage: (Int) -> [UInt8]?) -> LeafCell? {
        guard let size = Self.varint(bytes, at: offset, end: usableSize), size.value >= 0, size.value <= Self.largestPayload else {
            return nil
        }
        var cursor = offset + size.length
        var rowid: Int64?
        if table {
            guard let key = Self.varint(bytes, at: cursor, end: usableSize) else { return nil }
            rowid = key.value
            cursor += key.length
        }
        let total = Int(size.value)
        let local = localPayload(total, table: table)
        guard cursor + local <= usableSize else { return nil }
        var payload = Array(bytes[cursor..<(cursor + local)])
        if local < total {
            guard cursor + local + 4 <= usableSize else { return nil }
            var next = Int(Self.uint32(bytes, cursor + local))
            var visited: Set<Int> = []
            while payload.count < total {
                guard next != 0, visited.insert(next).inserted, let overflow = overflowPage(next) else { return nil }
                let take = min(total - payload.count, usableSize - 4)
                payload += overflow[4..<(4 + take)]
                next = Int(Self.uint32(overflow, 0))
            }
        }
        guard let values = Self.record(payload) else { return nil }
        return LeafCell(rowid: rowid, values: values)
    }

    /// How much of a payload of `total` bytes the leaf itself holds (the rest is on overflow pages).
    private func localPayload(_ total: Int, table: Bool) -> Int {
        let usable = usableSize
        let maxLocal = table ? usable - 35 : (usable - 12) * 64 / 255 - 23
        guard total > maxLocal else { return total }
        let minLocal = (usable - 12) * 32 / 255 - 23
        let k = minLocal + (total - minLocal) % (usable - 4)
        return k <= maxLocal ? k : minLocal
    }

    /// A record's values, nil unless the header and the body account for every byte exactly and text is UTF-8.
    static func record(_ payload: [UInt8]) -> [RecordValue]? {
        guard let header = varint(payload, at: 0, end: payload.count), header.value >= 1, header.value <= payload.count else {
            return nil
        }
        let headerEnd = Int(header.value)
        var cursor = header.length
        var types: [Int64] = []
        while cursor < headerEnd {
            guard let type = varint(payload, at: cursor, end: headerEnd), type.value >= 0 else { return nil }
            types.append(type.value)
            cursor += type.length
        }
        guard cursor == headerEnd else { return nil }
        var body = headerEnd
        var values: [RecordValue] = []
        values.reserveCapacity(types.count)
        for type in types {
            guard let (value, length) = Self.value(type, payload, at: body) else { return nil }
            values.append(value)
            body += length
        }
        return body == payload.count ? values : nil
    }

    /// One value of serial type `type` at `offset`, and its length.
    private static func value(_ type: Int64, _ payload: [UInt8], at offset: Int) -> (RecordValue, Int)? {
        let integerLengths: [Int64: Int] = [1: 1, 2: 2, 3: 3, 4: 4, 5: 6, 6: 8]
        switch type {
        case 0: return (.null, 0)
        case 8: return (.integer(0), 0)
        case 9: return (.integer(1), 0)
        case 10, 11: return nil
        case 7:
            guard offset + 8 <= payload.count else { return nil }
            return (.real(Double(bitPattern: bigEndian(payload, offset, 8))), 8)
        case 1...6:
            let length = integerLengths[type]!
            guard offset + length <= payload.count else { return nil }
            // Sign-extend from the top bit of the first byte.
            let raw = bigEndian(payload, offset, length)
            let shift = UInt64(64 - 8 * length)
            return (.integer(Int64(bitPattern: raw << shift) >> Int64(shift)), length)
        default:
            let length = Int((type - 12) / 2)
            guard length >= 0, offset + length <= payload.count else { return nil }
            let bytes = Array(payload[offset..<(offset + length)])
            if type % 2 == 0 { return (.blob(bytes), length) }
            guard let text = String(validating: bytes, as: UTF8.self) else { return nil }
            return (.text(text), length)
        }
    }

    private static func bigEndian(_ bytes: [UInt8], _ offset: Int, _ length: Int) -> UInt64 {
        var value: UInt64 = 0
        for index in 0..<length { value = value << 8 | UInt64(bytes[offset + index]) }
        return value
    }
}

/// The pages a WAL file holds, newest committed version of each: frames are read up to the last commit frame whose
/// salt matches the WAL header's (a reused WAL's older frames have another salt); a transaction never committed is
/// left out. Only the 24-byte frame headers are read to build it (one entry per page, not per frame); the frames'
/// checksums are not verified, as the records they hold are. https://www.sqlite.org/fileformat.html#the_write_ahead_log
final class WALOverlay {
    private let file: PageFile
    private let pageSize: Int
    /// Page number → offset of its newest committed version's bytes in the WAL.
    private let offsets: [Int: Int]
    let lastPage: Int

    init?(path: String, pageSize: Int) {
        guard DatabaseFile.exists(path), let file = try? PageFile(path: path), let header = file.bytes(at: 0, count: 32) else {
            return nil
        }
        let magic = PageBytes.uint32(header, 0)
        guard magic == 0x377f_0682 || magic == 0x377f_0683, Int(PageBytes.uint32(header, 8)) == pageSize else { return nil }
        let salts = Array(header[16..<24])
        var committed: [Int: Int] = [:]
        var pending: [Int: Int] = [:]
        var offset = 32
        while let frame = file.bytes(at: offset, count: 24), Array(frame[8..<16]) == salts,
            file.bytes(at: offset + 24 + pageSize - 1, count: 1) != nil
        {
            let number = Int(PageBytes.uint32(frame, 0))
            if number >= 1 { pending[number] = offset + 24 }
            if PageBytes.uint32(frame, 4) != 0 {  // a commit frame: its transaction is whole
                committed.merge(pending) { $1 }
                pending.removeAll()
            }
            offset += 24 + pageSize
        }
        self.file = file
        self.pageSize = pageSize
        offsets = committed
        lastPage = committed.keys.max() ?? 0
    }

    func page(_ number: Int) -> [UInt8]? {
        offsets[number].flatMap { file.bytes(at: $0, count: pageSize) }
    }
}
