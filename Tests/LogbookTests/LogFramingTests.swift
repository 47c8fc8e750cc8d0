// Log record framing: the encoder and decoder agree for every size around the boundaries,
// the decoder rejects every truncation and survives garbage, and LogReader.parse classifies
// the end of a log as clean, torn or corrupt exactly.

import Testing

@_spi(Testing) @testable import Logbook

/// A framed record with any type and payload and a correct checksum, for building damage the
/// encoder would never produce.
func frame(type: UInt8 = LogFormat.transactionType, payload: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    out.appendLittleEndian(UInt32(payload.count))
    out.appendLittleEndian(CRC32C.checksum([type] + payload))
    out.append(type)
    out += payload
    return out
}

/// What `LogReader.parse` visited and returned.
struct ParseOutcome {
    var records: [LogRecord] = []
    var recordEnds: [UInt64] = []
    var result: LogParse
}

func parseLog(_ bytes: [UInt8], base: UInt64 = 0, after: UInt64 = 0, isFileEnd: Bool = true) -> ParseOutcome {
    var records: [LogRecord] = []
    var ends: [UInt64] = []
    let result = bytes.withUnsafeBytes { raw in
        LogReader.parse(raw, base: base, after: after, isFileEnd: isFileEnd) { record, end in
            records.append(record)
            ends.append(end)
        }
    }
    return ParseOutcome(records: records, recordEnds: ends, result: result)
}

func decode(_ payload: ArraySlice<UInt8>) -> LogRecord? {
    Array(payload).withUnsafeBytes { LogFormat.decodePayload($0) }
}

/// Bytes of the payload of the one record framed in `bytes`.
func payloadBytes(_ record: LogRecord) -> [UInt8] { Array(LogFormat.encode(record)[LogFormat.recordHeaderSize...]) }

@Suite struct LogFramingTests {
    // MARK: round trips

    /// Encodes `record`, checks every header field and the exact size, decodes it back, and
    /// parses it as a one-record log.
    func expectRoundTrip(_ record: LogRecord, sourceLocation: SourceLocation = #_sourceLocation) {
        let bytes = LogFormat.encode(record)
        var expectedPayload = 12
        for mutation in record.mutations {
            switch mutation {
            case .put(let key, let value): expectedPayload += 1 + 2 + 4 + key.count + value.count
            case .delete(let key): expectedPayload += 1 + 2 + key.count
            }
        }
        #expect(bytes.count == 9 + expectedPayload, sourceLocation: sourceLocation)
        #expect(bytes.loadLittleEndian(UInt32.self, at: 0) == UInt32(expectedPayload), sourceLocation: sourceLocation)
        #expect(
            bytes.loadLittleEndian(UInt32.self, at: 4) == CRC32C.checksum(bytes[8...]), sourceLocation: sourceLocation)
        #expect(bytes[8] == 1, sourceLocation: sourceLocation)
        #expect(bytes.loadLittleEndian(UInt64.self, at: 9) == record.sequence, sourceLocation: sourceLocation)
        #expect(
            bytes.loadLittleEndian(UInt32.self, at: 17) == UInt32(record.mutations.count),
            sourceLocation: sourceLocation)
        #expect(decode(bytes[9...]) == record, sourceLocation: sourceLocation)

        let parsed = parseLog(bytes, base: 32, after: record.sequence &- 1)
        #expect(parsed.records == [record], sourceLocation: sourceLocation)
        #expect(parsed.recordEnds == [32 + UInt64(bytes.count)], sourceLocation: sourceLocation)
        #expect(parsed.result.end == .clean, sourceLocation: sourceLocation)
        #expect(parsed.result.validEnd == 32 + UInt64(bytes.count), sourceLocation: sourceLocation)
        #expect(parsed.result.lastSequence == record.sequence, sourceLocation: sourceLocation)
        #expect(!parsed.result.needsMore, sourceLocation: sourceLocation)

        var appended: [UInt8] = [0xAA, 0xBB, 0xCC]
        LogFormat.appendRecord(record, to: &appended)
        #expect(appended == [0xAA, 0xBB, 0xCC] + bytes, sourceLocation: sourceLocation)
    }

    @Test func everyValueSizeFrom0To70WithShortAndLongestKeys() {
        for keySize in [1, 2, 255, 256, Limits.maxKeySize] {
            for valueSize in 0...70 {
                let key = (0..<keySize).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
                let value = (0..<valueSize).map { UInt8(truncatingIfNeeded: $0 &+ keySize) }
                expectRoundTrip(LogRecord(sequence: UInt64(valueSize + 1), mutations: [.put(key: key, value: value)]))
            }
        }
    }

    @Test(arguments: [(4096, 24), (65536, 24), (1 << 20, 2)])
    func valueSizesAroundAPowerOfTwo(_ boundary: Int, _ spread: Int) {
        for valueSize in (boundary - spread)...(boundary + spread) {
            var value = [UInt8](repeating: UInt8(truncatingIfNeeded: valueSize), count: valueSize)
            if valueSize > 1 {
                value[0] = 0xA5
                value[valueSize - 1] = 0x5A
            }
            expectRoundTrip(LogRecord(sequence: 42, mutations: [.put(key: [0x6B], value: value)]))
        }
    }

    @Test func everyKeySizeNearTheLimitsForPutsAndDeletes() {
        for keySize in Array(1...70) + Array((Limits.maxKeySize - 20)...Limits.maxKeySize) {
            let key = [UInt8](repeating: UInt8(keySize % 251), count: keySize)
            expectRoundTrip(LogRecord(sequence: 1, mutations: [.put(key: key, value: [1, 2, 3])]))
            expectRoundTrip(LogRecord(sequence: 2, mutations: [.delete(key: key)]))
            expectRoundTrip(
                LogRecord(sequence: 3, mutations: [.delete(key: key), .put(key: key, value: []), .delete(key: key)]))
        }
    }

    @Test func largestValueRoundTrips() {
        let value = [UInt8](repeating: 0x5A, count: Limits.maxValueSize)
        expectRoundTrip(LogRecord(sequence: 9, mutations: [.put(key: b("big"), value: value)]))
    }

    @Test func manyMixedMutationsAndExtremeSequenceNumbers() {
        var random = SeededRandom(seed: 1234)
        for count in [1, 2, 3, 100, 1000, 5000] {
            var mutations: [Mutation] = []
            for _ in 0..<count {
                let key = random.bytes(Int.random(in: 1...40, using: &random))
                if Bool.random(using: &random) {
                    mutations.append(.put(key: key, value: random.bytes(Int.random(in: 0...60, using: &random))))
                } else {
                    mutations.append(.delete(key: key))
                }
            }
            for sequence: UInt64 in [1, 0x0102_0304_0506_0708, UInt64.max] {
                expectRoundTrip(LogRecord(sequence: sequence, mutations: mutations))
            }
        }
    }

    @Test func integersAreLittleEndianAtTheirDocumentedOffsets() {
        let record = LogRecord(
            sequence: 0x0102_0304_0506_0708,
            mutations: [.put(key: [0xAB], value: [0xCD, 0xEF]), .delete(key: [0x11, 0x22])])
        let bytes = LogFormat.encode(record)
        // length 12 + (7+1+2) + (3+2) = 27; CRC at 4..<8
        let expected: [UInt8] =
            [27, 0, 0, 0] + Array(bytes[4..<8]) + [1]
            + [8, 7, 6, 5, 4, 3, 2, 1] + [2, 0, 0, 0]
            + [1, 1, 0, 2, 0, 0, 0, 0xAB, 0xCD, 0xEF]
            + [2, 2, 0, 0x11, 0x22]
        #expect(bytes == expected)
    }

    // MARK: the decoder refuses what it must

    static let sampleRecords: [LogRecord] = [
        LogRecord(sequence: 1, mutations: [.put(key: [1], value: [])]),
        LogRecord(sequence: 2, mutations: [.delete(key: [1, 2, 3])]),
        LogRecord(
            sequence: 3,
            mutations: [
                .put(key: b("key"), value: b("value")), .delete(key: b("gone")),
                .put(key: b("k2"), value: [0, 0, 0, 0]),
            ]),
        LogRecord(
            sequence: 77,
            mutations: (0..<20).map { .put(key: [UInt8($0) + 1], value: [UInt8](repeating: 9, count: $0)) }),
    ]

    @Test func decoderRejectsEveryTruncationAndAnyTrailingByte() {
        for record in Self.sampleRecords {
            let payload = payloadBytes(record)
            #expect(decode(payload[...]) == record)
            for length in 0..<payload.count {
                #expect(decode(payload[..<length]) == nil, "truncated to \(length) of \(payload.count)")
            }
            for extra: UInt8 in [0, 1, 2, 0xFF] {
                #expect(decode((payload + [extra])[...]) == nil, "one trailing byte \(extra)")
            }
        }
    }

    @Test func decoderRejectsEachMalformedField() {
        func payload(count: UInt32, _ body: [UInt8]) -> [UInt8] {
            var bytes: [UInt8] = []
            bytes.appendLittleEndian(UInt64(1))
            bytes.appendLittleEndian(count)
            return bytes + body
        }
        let goodPut: [UInt8] = [1, 1, 0, 1, 0, 0, 0, 0x6B, 0x76]
        #expect(
            decode(payload(count: 1, goodPut)[...])
                == LogRecord(sequence: 1, mutations: [.put(key: [0x6B], value: [0x76])]))
        #expect(decode(payload(count: 0, [])[...]) == nil, "zero mutations")
        #expect(decode(payload(count: 2, goodPut)[...]) == nil, "count larger than the mutations present")
        #expect(decode(payload(count: UInt32.max, goodPut)[...]) == nil, "absurd count")
        #expect(decode(payload(count: 1, [0] + goodPut.dropFirst())[...]) == nil, "kind 0")
        #expect(decode(payload(count: 1, [3] + goodPut.dropFirst())[...]) == nil, "kind 3")
        #expect(decode(payload(count: 1, [1, 0, 0, 1, 0, 0, 0, 0x76])[...]) == nil, "empty key")
        #expect(decode(payload(count: 1, [2, 0, 0])[...]) == nil, "empty key in a delete")
        let longKey = [UInt8](repeating: 0x6B, count: Limits.maxKeySize + 1)
        #expect(decode(payload(count: 1, [2, 0x01, 0x10] + longKey)[...]) == nil, "4097-byte key")
        let limitKey = [UInt8](repeating: 0x6B, count: Limits.maxKeySize)
        #expect(
            decode(payload(count: 1, [2, 0x00, 0x10] + limitKey)[...])
                == LogRecord(sequence: 1, mutations: [.delete(key: limitKey)]))
        var oversized: [UInt8] = [1, 1, 0]
        oversized.appendLittleEndian(UInt32(Limits.maxValueSize + 1))
        oversized += [0x6B] + [UInt8](repeating: 0, count: Limits.maxValueSize + 1)
        #expect(decode(payload(count: 1, oversized)[...]) == nil, "value one byte over the limit, bytes present")
    }

    /// Whatever the bytes, the decoder returns without trapping; when it accepts them, they are
    /// exactly the encoding of what it returned (the format has one encoding per record).
    @Test func decoderSurvivesRandomGarbageAndMutatedPayloads() {
        var random = SeededRandom(seed: 0xBAD)
        func check(_ bytes: [UInt8]) {
            if let record = decode(bytes[...]) {
                #expect(payloadBytes(record) == bytes)
            }
        }
        for _ in 0..<20_000 {
            check(random.bytes(Int.random(in: 0...96, using: &random)))
        }
        // Plausible headers with random mutation bytes reach deeper into the decoder.
        var accepted = 0
        for _ in 0..<20_000 {
            var bytes: [UInt8] = []
            bytes.appendLittleEndian(UInt64.random(in: 0...3, using: &random))
            bytes.appendLittleEndian(UInt32.random(in: 1...3, using: &random))
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                bytes.append(UInt8.random(in: 0...3, using: &random))
                bytes.appendLittleEndian(UInt16.random(in: 0...3, using: &random))
                if Bool.random(using: &random) { bytes.appendLittleEndian(UInt32.random(in: 0...3, using: &random)) }
                bytes += random.bytes(Int.random(in: 0...6, using: &random))
            }
            if decode(bytes[...]) != nil { accepted += 1 }
            check(bytes)
        }
        #expect(accepted > 0, "the structured garbage never produced a valid payload: the generator is too weak")
        for record in Self.sampleRecords {
            let payload = payloadBytes(record)
            for _ in 0..<2_000 {
                var bytes = payload
                for _ in 0..<Int.random(in: 1...3, using: &random) {
                    bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                }
                check(bytes)
            }
        }
    }

    // MARK: LogReader.parse

    /// Records 1...count with a few keys each; the last one is the largest.
    static func log(count: Int, lastValueSize: Int = 40) -> (bytes: [UInt8], records: [LogRecord], starts: [Int]) {
        var bytes: [UInt8] = []
        var records: [LogRecord] = []
        var starts: [Int] = []
        for i in 1...count {
            var mutations: [Mutation] = [.put(key: b("k\(i)"), value: b("v\(i)"))]
            if i % 2 == 0 { mutations.append(.delete(key: b("k\(i - 1)"))) }
            if i == count {
                mutations.append(.put(key: b("last"), value: [UInt8](repeating: 0x4C, count: lastValueSize)))
            }
            let record = LogRecord(sequence: UInt64(i), mutations: mutations)
            starts.append(bytes.count)
            LogFormat.appendRecord(record, to: &bytes)
            records.append(record)
        }
        return (bytes, records, starts)
    }

    @Test func cleanLogVisitsEveryRecordInOrder() {
        let (bytes, records, starts) = Self.log(count: 6)
        let parsed = parseLog(bytes, base: 32)
        #expect(parsed.records == records)
        #expect(parsed.recordEnds == (starts.dropFirst() + [bytes.count]).map { 32 + UInt64($0) })
        #expect(parsed.result.end == .clean)
        #expect(parsed.result.validEnd == 32 + UInt64(bytes.count))
        #expect(parsed.result.lastSequence == 6)
        #expect(!parsed.result.needsMore)

        let empty = parseLog([], base: 32, after: 17)
        #expect(empty.records.isEmpty)
        #expect(empty.result.end == .clean)
        #expect(empty.result.validEnd == 32)
        #expect(empty.result.lastSequence == 17)
    }

    @Test func cutAtEveryByteOfTheLastRecordIsATornTail() {
        for lastValueSize in [0, 40, 300] {
            let (bytes, records, starts) = Self.log(count: 5, lastValueSize: lastValueSize)
            let last = starts[4]
            for cut in last..<bytes.count {
                let parsed = parseLog(Array(bytes[..<cut]), base: 32)
                #expect(parsed.records == Array(records[0..<4]), "cut at \(cut)")
                #expect(parsed.result.validEnd == 32 + UInt64(last), "cut at \(cut)")
                #expect(parsed.result.lastSequence == 4)
                #expect(!parsed.result.needsMore)
                #expect(parsed.result.end == (cut == last ? .clean : .torn(offset: 32 + UInt64(last))), "cut at \(cut)")

                // The same bytes as a window that does not reach the end of the file: read more.
                let window = parseLog(Array(bytes[..<cut]), base: 32, isFileEnd: false)
                #expect(window.records == Array(records[0..<4]))
                #expect(window.result.validEnd == 32 + UInt64(last))
                #expect(window.result.end == .clean)
                #expect(window.result.needsMore == (cut != last), "cut at \(cut)")
            }
        }
    }

    @Test func garbageTailWithoutAValidRecordIsTorn() {
        let (bytes, records, _) = Self.log(count: 3)
        var random = SeededRandom(seed: 5)
        var zerosThenGarbage = [UInt8](repeating: 0, count: 4096)
        zerosThenGarbage[4000] = 1
        for tail in [random.bytes(500), [UInt8](repeating: 0xFF, count: 64), zerosThenGarbage] {
            let parsed = parseLog(bytes + tail)
            #expect(parsed.records == records)
            #expect(parsed.result.end == .torn(offset: UInt64(bytes.count)))
            #expect(parsed.result.validEnd == UInt64(bytes.count))
        }
    }

    /// Zeros from a record boundary to the end are space a writer allocated ahead: the log ends
    /// there, cleanly (not a torn tail that the next writer would cut off).
    @Test func zeroTailAfterARecordBoundaryIsTheCleanEnd() {
        let (bytes, records, starts) = Self.log(count: 3)
        for count in [1, 8, 9, 100, 4096, 65536] {
            let parsed = parseLog(bytes + [UInt8](repeating: 0, count: count))
            #expect(parsed.records == records)
            #expect(parsed.result.end == .clean)
            #expect(parsed.result.validEnd == UInt64(bytes.count))
        }
        // Zeros inside a record are not a boundary: a record cut short, then zeros, is torn.
        let cut = Array(bytes[..<(starts[2] + 5)]) + [UInt8](repeating: 0, count: 4096)
        let parsed = parseLog(cut)
        #expect(parsed.records == Array(records[..<2]))
        #expect(parsed.result.end == .torn(offset: UInt64(starts[2])))
        // Zeros and then a valid record: damage, as any other.
        let holed = Array(bytes[..<starts[1]]) + [UInt8](repeating: 0, count: 64) + Array(bytes[starts[1]...])
        guard case .corrupt(let at, _) = parseLog(holed).result.end else {
            Issue.record("zeros followed by valid records were not reported as corruption")
            return
        }
        #expect(at == UInt64(starts[1]))
    }

    @Test func damageInAnyByteOfARecordFollowedByValidRecordsIsCorruption() {
        let (bytes, records, starts) = Self.log(count: 5)
        for victim in [0, 1, 3] {
            for offset in starts[victim]..<starts[victim + 1] {
                for mask: UInt8 in [0x01, 0x80, 0xFF] {
                    var damaged = bytes
                    damaged[offset] ^= mask
                    let parsed = parseLog(damaged, base: 32)
                    guard case .corrupt(let at, _) = parsed.result.end else {
                        Issue.record("record \(victim + 1), byte \(offset) ^ \(mask): \(parsed.result.end)")
                        continue
                    }
                    #expect(at == 32 + UInt64(starts[victim]))
                    #expect(parsed.records == Array(records[0..<victim]))
                    #expect(parsed.result.validEnd == 32 + UInt64(starts[victim]))
                    #expect(parsed.result.lastSequence == UInt64(victim))
                }
            }
        }
    }

    @Test func sequenceGapOrRepeatFollowedByAValidRecordIsCorruption() {
        let r1 = LogFormat.encode(LogRecord(sequence: 1, mutations: [.put(key: [1], value: [1])]))
        let r3 = LogFormat.encode(LogRecord(sequence: 3, mutations: [.put(key: [3], value: [3])]))
        let r4 = LogFormat.encode(LogRecord(sequence: 4, mutations: [.put(key: [4], value: [4])]))
        let again1 = LogFormat.encode(LogRecord(sequence: 1, mutations: [.put(key: [9], value: [9])]))
        let r2 = LogFormat.encode(LogRecord(sequence: 2, mutations: [.put(key: [2], value: [2])]))

        let gap = parseLog(r1 + r3 + r4)
        #expect(gap.result.end.isCorrupt(at: UInt64(r1.count)))
        #expect(gap.records.map(\.sequence) == [1])

        let repeated = parseLog(r1 + again1 + r2)
        #expect(repeated.result.end.isCorrupt(at: UInt64(r1.count)))
        #expect(repeated.records.map(\.sequence) == [1])

        let wrongStart = parseLog(r3 + r4, after: 1)
        #expect(wrongStart.result.end.isCorrupt(at: 0))
        #expect(wrongStart.records.isEmpty)
    }

    /// A whole record with a valid checksum is never the remains of a torn write, so a wrong
    /// sequence number at the end of the log is corruption too, not a tail to drop quietly.
    @Test func wholeButUnacceptableLastRecordIsCorruption() {
        let r1 = LogFormat.encode(LogRecord(sequence: 1, mutations: [.put(key: [1], value: [1])]))
        let r3 = LogFormat.encode(LogRecord(sequence: 3, mutations: [.put(key: [3], value: [3])]))
        let r1Again = LogFormat.encode(LogRecord(sequence: 1, mutations: [.put(key: [3], value: [3])]))
        var zeroMutations: [UInt8] = []
        zeroMutations.appendLittleEndian(UInt64(2))
        zeroMutations.appendLittleEndian(UInt32(0))
        for last in [r3, r1Again, frame(payload: zeroMutations)] {
            let parsed = parseLog(r1 + last)
            #expect(parsed.result.end.isCorrupt(at: UInt64(r1.count)))
            #expect(parsed.result.validEnd == UInt64(r1.count))
            #expect(parsed.records.map(\.sequence) == [1])
        }
    }

    @Test func wellChecksummedButMalformedOrUnknownRecordsFollowedByValidOnesAreCorruption() {
        let r1 = LogFormat.encode(LogRecord(sequence: 1, mutations: [.put(key: [1], value: [1])]))
        let r2 = LogFormat.encode(LogRecord(sequence: 2, mutations: [.put(key: [2], value: [2])]))
        var zeroMutations: [UInt8] = []
        zeroMutations.appendLittleEndian(UInt64(2))
        zeroMutations.appendLittleEndian(UInt32(0))
        for bad in [
            frame(payload: zeroMutations),
            frame(type: 2, payload: payloadBytes(LogRecord(sequence: 2, mutations: [.delete(key: [1])]))),
        ] {
            let parsed = parseLog(r1 + bad + r2)
            #expect(parsed.result.end.isCorrupt(at: UInt64(r1.count)))
            #expect(parsed.records.map(\.sequence) == [1])
        }
    }

    @Test func lengthsOutOfBoundsAreRejectedBeforeAnyAllocation() {
        let r1 = LogFormat.encode(LogRecord(sequence: 1, mutations: [.put(key: [1], value: [1])]))
        for length in [0, 11, UInt32(LogFormat.maxPayload + 1), UInt32.max] {
            var header: [UInt8] = []
            header.appendLittleEndian(UInt32(length))
            header += [0, 0, 0, 0, 1]
            let parsed = parseLog(r1 + header + [UInt8](repeating: 0, count: 12))
            #expect(parsed.result.end == .torn(offset: UInt64(r1.count)), "length \(length)")
        }
    }
}

extension LogEnd {
    func isCorrupt(at offset: UInt64) -> Bool {
        if case .corrupt(let at, _) = self { return at == offset }
        return false
    }
}
