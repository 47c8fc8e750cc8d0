/// How a pass over a log segment ended.
@_spi(Testing) public enum LogEnd: Sendable, Equatable {
    /// Every byte up to the end was a valid record, or every byte after the last valid record
    /// is zero: space a writer allocated ahead (see `LogFormat`), not the remains of a write.
    case clean
    /// The bytes from `offset` on are not a whole valid record and no valid record follows them:
    /// the torn tail of a write cut short by a crash. Readers ignore it; the next writer truncates it.
    case torn(offset: UInt64)
    /// The record at `offset` is damaged and valid records follow it, or it is a whole record with
    /// a valid checksum that cannot be accepted (malformed, out of sequence): corruption, never a torn tail.
    case corrupt(offset: UInt64, reason: String)
}

/// The result of parsing a buffer of log bytes.
@_spi(Testing) public struct LogParse: Sendable {
    /// Offset just past the last valid record.
    public var validEnd: UInt64
    /// Sequence number of the last valid record (the `after` argument when none was read).
    public var lastSequence: UInt64
    public var end: LogEnd
    /// true when the bytes stopped inside a record that may be complete in the file but was cut
    /// by the buffer's end (the caller reads further); false when the verdict in `end` is final.
    public var needsMore: Bool
}

/// How a whole log segment ends, by the rules every reader of whole segments shares (open, the
/// one-shot get, offline verify, repair): the last segment may end in a torn record (where the log
/// ends) or in zeros allocated ahead; a sealed one ends exactly at its last record, because its
/// seal cut the zeros off and synced it, so anything else at its end is records lost.
enum SegmentEnd: Equatable {
    /// The records end at `end`: the end of the file, or zeros allocated ahead (last segment).
    case clean(end: UInt64)
    /// The last segment ends in a torn record at `offset`: its log ends there.
    case tornTail(offset: UInt64)
    /// Damage at `offset`, of `kind`, said by `reason`.
    case damaged(offset: UInt64, kind: Damage, reason: String)

    enum Damage: Equatable {
        /// A damaged or unacceptable record (`LogEnd.corrupt`).
        case corruptRecord
        /// A sealed segment ends in a torn record.
        case sealedTorn
        /// A sealed segment ends in zeros after its last record.
        case sealedZeros
    }

    /// The verdict on a segment of `size` bytes parsed to its end as `parsed`.
    init(_ parsed: LogParse, size: UInt64, sealed: Bool) {
        switch parsed.end {
        case .corrupt(let offset, let reason):
            self = .damaged(offset: offset, kind: .corruptRecord, reason: reason)
        case .torn(let offset) where sealed:
            self = .damaged(offset: offset, kind: .sealedTorn, reason: "sealed log segment ends in a torn record")
        case .torn(let offset):
            self = .tornTail(offset: offset)
        case .clean where sealed && parsed.validEnd < size:
            let zeros = size - parsed.validEnd
            self = .damaged(
                offset: parsed.validEnd, kind: .sealedZeros,
                reason: "sealed log segment ends in \(zeros) zero bytes after its last record")
        case .clean:
            self = .clean(end: parsed.validEnd)
        }
    }
}

/// Parses framed records. Never traps and never allocates more than the bytes it is given,
/// whatever those bytes are: lengths are checked against the bounds and the buffer first.
@_spi(Testing) public enum LogReader {
    /// Parses the records in `bytes`, which start at file offset `base`, visiting each valid one
    /// in order. Records must carry consecutive sequence numbers starting at `after + 1`.
    /// `isFileEnd`: the buffer reaches the end of the data (so a cut record is torn, not partial).
    public static func parse(
        _ bytes: UnsafeRawBufferPointer, base: UInt64, after sequence: UInt64, isFileEnd: Bool,
        visit: (LogRecord, _ recordEnd: UInt64) throws -> Void
    ) rethrows -> LogParse {
        try parsePayloads(bytes, base: base, after: sequence, isFileEnd: isFileEnd) { payload, _, recordEnd in
            // parsePayloads accepted the payload, so it decodes.
            try visit(LogFormat.decodePayload(payload)!, recordEnd)
        }
    }

    /// `parse`, visiting each valid record as its payload (well formed, borrowed from `bytes`) and
    /// sequence number instead of a decoded `LogRecord`: the same verdicts, no allocation per record.
    static func parsePayloads(
        _ bytes: UnsafeRawBufferPointer, base: UInt64, after sequence: UInt64, isFileEnd: Bool,
        visit: (_ payload: UnsafeRawBufferPointer, _ sequence: UInt64, _ recordEnd: UInt64) throws -> Void
    ) rethrows -> LogParse {
        var position = 0
        var last = sequence
        while position < bytes.count {
            switch check(bytes, at: position) {
            case .valid(let size):
                let payload = UnsafeRawBufferPointer(
                    rebasing: bytes[(position + LogFormat.recordHeaderSize)..<(position + size)])
                // A whole record with a valid checksum is never the remains of a torn write:
                // if it cannot be accepted, that is corruption even at the end of the log.
                guard let recordSequence = LogFormat.payloadSequence(payload) else {
                    return corrupt(base, position, last, "malformed transaction payload")
                }
                guard recordSequence == last &+ 1 else {
                    return corrupt(
                        base, position, last, "sequence \(recordSequence) where \(last &+ 1) was expected")
                }
                last = recordSequence
                position += size
                try visit(payload, recordSequence, base + UInt64(position))
            case .cut(let size):
                if !isFileEnd {
                    _ = size
                    return LogParse(validEnd: base + UInt64(position), lastSequence: last, end: .clean, needsMore: true)
                }
                if isZero(bytes, from: position) { return preallocated(base, position, last) }
                return damaged(bytes, base, position, last, "record cut short")
            case .invalid(let reason):
                if isFileEnd && isZero(bytes, from: position) { return preallocated(base, position, last) }
                return damaged(bytes, base, position, last, reason)
            }
        }
        return LogParse(validEnd: base + UInt64(position), lastSequence: last, end: .clean, needsMore: false)
    }

    enum Check {
        /// A whole record of `size` bytes (header included) with a matching checksum.
        case valid(size: Int)
        /// The header is plausible but the record runs past the buffer.
        case cut(size: Int)
        case invalid(String)
    }

    /// Checks the framing and checksum of the record at `position` (not its payload's structure).
    static func check(_ bytes: UnsafeRawBufferPointer, at position: Int) -> Check {
        let available = bytes.count - position
        if available < LogFormat.recordHeaderSize { return .cut(size: LogFormat.recordHeaderSize) }
        let length = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt32.self)))
        guard length >= LogFormat.minPayload, length <= LogFormat.maxPayload else {
            return .invalid("record length \(length) out of bounds")
        }
        let type = bytes[position + 8]
        guard type == LogFormat.transactionType else { return .invalid("unknown record type \(type)") }
        let size = LogFormat.recordHeaderSize + length
        if available < size { return .cut(size: size) }
        let stored = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: position + 4, as: UInt32.self))
        let actual = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[(position + 8)..<(position + size)]))
        guard stored == actual else { return .invalid("checksum mismatch") }
        return .valid(size: size)
    }

    /// Whether every byte of `bytes` from `position` on is zero.
    private static func isZero(_ bytes: UnsafeRawBufferPointer, from position: Int) -> Bool {
        var i = position
        while i &+ 8 <= bytes.count {
            if bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self) != 0 { return false }
            i &+= 8
        }
        while i < bytes.count {
            if bytes[i] != 0 { return false }
            i &+= 1
        }
        return true
    }

    /// The verdict for a record boundary at `position` followed by zeros to the end: the log
    /// ends there, and what follows is allocated space (see `LogFormat`), not a torn write.
    private static func preallocated(_ base: UInt64, _ position: Int, _ last: UInt64) -> LogParse {
        LogParse(validEnd: base + UInt64(position), lastSequence: last, end: .clean, needsMore: false)
    }

    /// The verdict for a whole, checksummed record at `position` that cannot be accepted.
    private static func corrupt(_ base: UInt64, _ position: Int, _ last: UInt64, _ reason: String) -> LogParse {
        let offset = base + UInt64(position)
        return LogParse(
            validEnd: offset, lastSequence: last, end: .corrupt(offset: offset, reason: reason), needsMore: false)
    }

    /// The verdict for damage at `position`: corruption when a valid record starts anywhere after
    /// it, a torn tail otherwise.
    ///
    /// One exception: a damaged record whose header is plausible and whose payload starts with the
    /// expected sequence number owns the bytes its length claims. A valid-looking record inside
    /// them is part of its payload (a value may hold any bytes, even a copy of a log), so it proves
    /// nothing, unless the damaged record's checksum covers exactly the bytes up to it: then the
    /// record is whole and only its length field is damaged.
    private static func damaged(
        _ bytes: UnsafeRawBufferPointer, _ base: UInt64, _ position: Int, _ last: UInt64, _ reason: String
    ) -> LogParse {
        let offset = base + UInt64(position)
        let claimedEnd = claimedEnd(bytes, at: position, sequence: last &+ 1)
        // No more records than this fit in the bytes after the damage, so no later sequence number
        // is further on. (Counted from the damage, not from the buffer's start: the verdict must
        // not depend on where the caller's buffer begins, a whole file, a window or a catch-up.)
        let maxStep = UInt64((bytes.count - position) / (LogFormat.recordHeaderSize + LogFormat.minPayload)) + 1
        var probe = position + 1
        while probe + LogFormat.recordHeaderSize + LogFormat.minPayload <= bytes.count {
            // Cheap filter before the checksum, whose cost is the candidate's length: without it,
            // bytes that merely look like headers (common in binary values) cost a checksum of up
            // to 64 MiB each, and a torn multi-MiB record took hours to judge.
            let sequence = UInt64(
                littleEndian: bytes.loadUnaligned(fromByteOffset: probe + LogFormat.recordHeaderSize, as: UInt64.self))
            let count = UInt32(
                littleEndian: bytes.loadUnaligned(
                    fromByteOffset: probe + LogFormat.recordHeaderSize + 8, as: UInt32.self))
            if sequence > last, sequence - last <= maxStep, count >= 1,
                case .valid(let size) = check(bytes, at: probe),
                let recordSequence = LogFormat.payloadSequence(
                    UnsafeRawBufferPointer(rebasing: bytes[(probe + LogFormat.recordHeaderSize)..<(probe + size)])),
                recordSequence > last,
                probe >= claimedEnd || checksumEnds(bytes, record: position, at: probe)
            {
                return LogParse(
                    validEnd: offset, lastSequence: last,
                    end: .corrupt(
                        offset: offset, reason: "\(reason); a valid record follows at offset \(base + UInt64(probe))"),
                    needsMore: false)
            }
            probe += 1
        }
        return LogParse(validEnd: offset, lastSequence: last, end: .torn(offset: offset), needsMore: false)
    }

    /// Where the record at `position` ends by its header, when the header is plausible and the
    /// payload starts with `sequence`; `position` (it claims nothing) otherwise.
    private static func claimedEnd(_ bytes: UnsafeRawBufferPointer, at position: Int, sequence: UInt64)
        -> Int
    {
        guard bytes.count - position >= LogFormat.recordHeaderSize + 8 else { return position }
        let length = Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: position, as: UInt32.self)))
        guard length >= LogFormat.minPayload, length <= LogFormat.maxPayload,
            bytes[position + 8] == LogFormat.transactionType,
            UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: position + 9, as: UInt64.self))
                == sequence
        else { return position }
        return position + LogFormat.recordHeaderSize + length
    }

    /// Whether the checksum stored in the record at `position` matches its type and payload taken
    /// as ending at `end`.
    private static func checksumEnds(_ bytes: UnsafeRawBufferPointer, record position: Int, at end: Int)
        -> Bool
    {
        guard end >= position + LogFormat.recordHeaderSize + LogFormat.minPayload else { return false }
        let stored = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: position + 4, as: UInt32.self))
        return CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[(position + 8)..<end])) == stored
    }
}

extension LogReader {
    /// Bytes read from the file at a time; a record larger than this widens the window.
    static let window = 1 << 20

    /// Reads and parses the records of the segment open at `fd`, from `offset` up to `limit`,
    /// a window at a time, so memory stays bounded by the largest record, not the log.
    /// `window` (bytes read at first; default 4 MiB) is a parameter for tests and fuzzers only.
    @_spi(Testing) public static func read(
        _ files: any FileLayer, fd: Int32, path: String, from offset: UInt64, limit: UInt64,
        after sequence: UInt64, window initialWindow: Int? = nil, visit: (LogRecord, UInt64) -> Void
    ) throws(LogbookError) -> LogParse {
        try readPayloads(
            files, fd: fd, path: path, from: offset, limit: limit, after: sequence, window: initialWindow
        ) { payload, _, recordEnd in
            visit(LogFormat.decodePayload(payload)!, recordEnd)  // readPayloads accepted it: it decodes
        }
    }

    /// `read`, visiting payloads as `parsePayloads` does.
    static func readPayloads(
        _ files: any FileLayer, fd: Int32, path: String, from offset: UInt64, limit: UInt64,
        after sequence: UInt64, window initialWindow: Int? = nil,
        visit: (_ payload: UnsafeRawBufferPointer, _ sequence: UInt64, _ recordEnd: UInt64) -> Void
    ) throws(LogbookError) -> LogParse {
        var position = offset
        var last = sequence
        var window = initialWindow.map { max(1, $0) } ?? Self.window
        // One buffer for every window, not an array per read: a fresh array of a few MiB is a
        // fresh mapping, zero-filled twice (kernel, then array) before the read overwrites it.
        var buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 0, alignment: 8)
        defer { buffer.deallocate() }
        while position < limit {
            let want = Int(min(UInt64(window), limit - position))
            if buffer.count < want {
                buffer.deallocate()
                buffer = .allocate(byteCount: want, alignment: 8)
            }
            let target = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<want])
            let count = try io(path) { () throws(SystemError) in try files.fill(fd, target, at: position, path: path) }
            let reachesEnd = count < want || position + UInt64(count) >= limit
            let parsed = parsePayloads(
                UnsafeRawBufferPointer(rebasing: buffer[0..<count]), base: position, after: last, isFileEnd: reachesEnd,
                visit: visit)
            if parsed.needsMore {
                if parsed.validEnd == position { window *= 2 }  // one record larger than the window
                position = parsed.validEnd
                last = parsed.lastSequence
                continue
            }
            if parsed.end != .clean && !reachesEnd {
                // Damage inside the window: judge torn or corrupt against everything after it.
                let rest = try io(path) { () throws(SystemError) in
                    try files.readUpTo(fd, count: Int(limit - parsed.validEnd), at: parsed.validEnd, path: path)
                }
                return rest.withUnsafeBytes { raw in
                    parsePayloads(raw, base: parsed.validEnd, after: parsed.lastSequence, isFileEnd: true, visit: visit)
                }
            }
            if parsed.end != .clean || reachesEnd { return parsed }
            position = parsed.validEnd
            last = parsed.lastSequence
        }
        return LogParse(validEnd: position, lastSequence: last, end: .clean, needsMore: false)
    }
}
