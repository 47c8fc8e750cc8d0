@_spi(Testing) import FuzzSupport
// fuzz-log-records: LogReader.parse over arbitrary buffers, and the windowed LogReader.read.
@_spi(Testing) import Logbook

#if FUZZING
    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
        LogRecordsTarget.run(UnsafeRawBufferPointer(start: data, count: size))
        return 0
    }

    @main enum Main { static func main() { Fuzz.runLibFuzzer(fuzzTestOneInput) } }
#else
    @main enum Main { static func main() { Fuzz.replay("fuzz-log-records", LogRecordsTarget.run) } }
#endif

/// Input: a control byte, a window byte, [after: u64], [base: u32], then the log bytes.
/// Control bits: 1 fix up record CRCs, 2 read `after`, 4 read `base`, 8 a wider window.
///
/// Properties, whatever the bytes:
/// - the records visited re-encode to exactly the bytes before `validEnd`, with consecutive
///   sequence numbers from `after + 1`, each visited with its own end offset;
/// - the verdict: `clean` iff every byte was read or every byte after `validEnd` is zero (space a
///   writer allocated ahead); otherwise the damage is at `validEnd`, and it is
///   `corrupt` iff it is a whole checksummed record (malformed or out of sequence) or a record
///   follows that proves corruption (see `follower`, a scan written here from Docs/Format.md with
///   the fuzzer's own CRC), `torn` otherwise;
/// - `isFileEnd: false` visits the same records and only differs by asking for more bytes when a
///   record is cut by the buffer's end, or by calling zeros after `validEnd` a torn tail (more
///   bytes may follow them);
/// - the bytes up to `validEnd` parse cleanly on their own;
/// - the windowed reader (`LogReader.read`, any window size, from a file in memory) returns the
///   same records and the same verdict as one parse of the whole buffer.
enum LogRecordsTarget {
    static func run(_ data: UnsafeRawBufferPointer) {
        var input = FuzzInput(data)
        let control = input.byte()
        let window = (Int(input.byte()) + 1) * (control & 8 != 0 ? 97 : 1)
        let after = control & 2 != 0 ? input.integer(UInt64.self) : 0
        let base = control & 4 != 0 ? UInt64(input.integer(UInt32.self)) : UInt64(LogFormat.segmentHeaderSize)
        var log = input.rest()
        if control & 1 != 0 { Fixup.logRecords(&log, from: 0) }
        let end = base + UInt64(log.count)

        // One parse of the whole buffer, as at the end of a file.
        var records: [LogRecord] = []
        var ends: [UInt64] = []
        let whole = log.withUnsafeBytes { raw in
            LogReader.parse(raw, base: base, after: after, isFileEnd: true) { record, recordEnd in
                records.append(record)
                ends.append(recordEnd)
            }
        }
        Fuzz.require(!whole.needsMore, "needsMore at the end of the file")
        Fuzz.require(whole.validEnd >= base && whole.validEnd <= end, "validEnd \(whole.validEnd) outside the buffer")
        var reencoded: [UInt8] = []
        for (i, record) in records.enumerated() {
            Fuzz.require(record.sequence == after &+ UInt64(i + 1), "sequence \(record.sequence) at record \(i)")
            LogFormat.appendRecord(record, to: &reencoded)
            Fuzz.require(ends[i] == base + UInt64(reencoded.count), "record \(i) visited with end \(ends[i])")
        }
        Fuzz.require(whole.lastSequence == (records.last?.sequence ?? after), "lastSequence \(whole.lastSequence)")
        let validCount = Int(whole.validEnd - base)
        Fuzz.require(reencoded == Array(log[0..<validCount]), "records do not re-encode to the bytes read")

        // The verdict.
        let zeroTail = validCount < log.count && log[validCount...].allSatisfy { $0 == 0 }
        switch whole.end {
        case .clean:
            Fuzz.require(whole.validEnd == end || zeroTail, "clean but \(end - whole.validEnd) bytes unread")
        case .torn(let offset):
            Fuzz.require(offset == whole.validEnd && offset < end, "torn at \(offset), validEnd \(whole.validEnd)")
            Fuzz.require(!zeroTail, "torn, but only zeros follow the last record")
            Fuzz.require(!isWholeRecord(log, at: validCount), "torn at a whole checksummed record")
            let follower = follower(in: log, damageAt: validCount, last: whole.lastSequence)
            Fuzz.require(follower == nil, "torn, but a valid record follows at buffer offset \(follower ?? -1)")
        case .corrupt(let offset, let reason):
            Fuzz.require(offset == whole.validEnd && offset < end, "corrupt at \(offset), validEnd \(whole.validEnd)")
            Fuzz.require(
                isWholeRecord(log, at: validCount)
                    || follower(in: log, damageAt: validCount, last: whole.lastSequence) != nil,
                "corrupt (\(reason)), but not a whole record and no valid record follows")
        }

        // Not at the end of the file: the same records; more bytes wanted only for a cut record.
        var partialRecords: [LogRecord] = []
        let partial = log.withUnsafeBytes { raw in
            LogReader.parse(raw, base: base, after: after, isFileEnd: false) { record, _ in
                partialRecords.append(record)
            }
        }
        Fuzz.require(partialRecords == records, "isFileEnd changed the records read")
        Fuzz.require(
            partial.validEnd == whole.validEnd && partial.lastSequence == whole.lastSequence,
            "isFileEnd changed where reading stopped")
        if partial.needsMore {
            Fuzz.require(
                partial.end == .clean && (whole.end != .clean || zeroTail),
                "needsMore with \(partial.end) / \(whole.end)")
        } else if zeroTail && whole.end == .clean {
            Fuzz.require(partial.end == .torn(offset: whole.validEnd), "zeros before the end: \(partial.end)")
        } else {
            Fuzz.require(partial.end == whole.end, "verdicts differ: \(partial.end) / \(whole.end)")
        }

        // The valid prefix alone parses cleanly.
        var prefixCount = 0
        let prefix = log.withUnsafeBytes { raw in
            LogReader.parse(
                UnsafeRawBufferPointer(rebasing: raw[0..<validCount]), base: base, after: after, isFileEnd: true
            ) { _, _ in prefixCount += 1 }
        }
        Fuzz.require(
            prefix.end == .clean && prefix.validEnd == whole.validEnd && prefixCount == records.count,
            "the valid prefix does not parse cleanly: \(prefix)")

        // The windowed reader agrees with one parse of the whole buffer.
        var windowRecords: [LogRecord] = []
        var windowEnds: [UInt64] = []
        do {
            let windowed = try LogReader.read(
                MemoryFileLayer(log, base: base), fd: 3, path: "fuzz.wal", from: base, limit: end, after: after,
                window: window
            ) { record, recordEnd in
                windowRecords.append(record)
                windowEnds.append(recordEnd)
            }
            Fuzz.require(windowRecords == records && windowEnds == ends, "window \(window): other records")
            Fuzz.require(
                windowed.validEnd == whole.validEnd && windowed.lastSequence == whole.lastSequence
                    && windowed.end == whole.end && !windowed.needsMore,
                "window \(window): \(windowed) where one parse gives \(whole)")
        } catch {
            Fuzz.fail("LogReader.read from memory threw \(error)")
        }
    }

    /// Whether a whole record with a valid checksum starts at `position` (the parse stopped there,
    /// so its payload is malformed or out of sequence: corruption, never a torn write).
    static func isWholeRecord(_ log: [UInt8], at position: Int) -> Bool {
        guard position + LogFormat.recordHeaderSize <= log.count else { return false }
        let length = Int(log.loadLE(UInt32.self, at: position))
        let end = position + LogFormat.recordHeaderSize + length
        return length >= LogFormat.minPayload && length <= LogFormat.maxPayload && end <= log.count
            && log[position + 8] == LogFormat.transactionType
            && log.loadLE(UInt32.self, at: position + 4) == CRC32C.checksum(log[(position + 8)..<end])
    }

    /// The offset of the first record after damage at `position` that proves the damage is
    /// corruption (Docs/Format.md): a valid record (framing in bounds, type 1, CRC computed here,
    /// payload valid) with a sequence number above `last`, by no more than the number of records
    /// the bytes after the damage could hold; and, when the damaged record's header is plausible
    /// and its payload starts with sequence `last + 1`, outside the bytes its length claims,
    /// unless its checksum covers exactly the bytes up to the candidate.
    static func follower(in log: [UInt8], damageAt position: Int, last: UInt64) -> Int? {
        let header = LogFormat.recordHeaderSize
        let maxStep = UInt64((log.count - position) / (header + LogFormat.minPayload)) + 1
        var claimedEnd = position
        if position + header + 8 <= log.count {
            let length = Int(log.loadLE(UInt32.self, at: position))
            if length >= LogFormat.minPayload, length <= LogFormat.maxPayload,
                log[position + 8] == LogFormat.transactionType, log.loadLE(UInt64.self, at: position + 9) == last &+ 1
            {
                claimedEnd = position + header + length
            }
        }
        var probe = position + 1
        while probe + header + LogFormat.minPayload <= log.count {
            defer { probe += 1 }
            let length = Int(log.loadLE(UInt32.self, at: probe))
            let end = probe + header + length
            guard length >= LogFormat.minPayload, length <= LogFormat.maxPayload, end <= log.count,
                log[probe + 8] == LogFormat.transactionType,
                log.loadLE(UInt32.self, at: probe + 4) == CRC32C.checksum(log[(probe + 8)..<end])
            else { continue }
            let record = log.withUnsafeBytes { raw in
                LogFormat.decodePayload(UnsafeRawBufferPointer(rebasing: raw[(probe + header)..<end]))
            }
            guard let record, record.sequence > last, record.sequence - last <= maxStep else { continue }
            let wholeUpToProbe =
                probe >= position + header + LogFormat.minPayload
                && log.loadLE(UInt32.self, at: position + 4) == CRC32C.checksum(log[(position + 8)..<probe])
            if probe >= claimedEnd || wholeUpToProbe { return probe }
        }
        return nil
    }
}
