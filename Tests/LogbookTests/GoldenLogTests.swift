// The golden log: Fixtures/golden.wal holds the bytes the encoder produced for the four
// records below when format version 1 was fixed. Encoding them again must give the same bytes,
// and a store whose log is this file must open to the expected keys. If this test fails, the
// on-disk format changed: that must be a decision (bump `LogFormat.version`, keep a reader for
// version 1, add a new fixture), never an accident.
//
// The fixture, byte by byte (all integers little-endian):
//
//   offset  bytes                                     meaning
//   segment header
//        0  4c 4f 47 42 4b 57 41 4c                   magic "LOGBKWAL"
//        8  01 00 00 00                               format version 1
//       12  00 00 00 00                               reserved
//       16  01 00 00 00 00 00 00 00                   segment number 1
//       24  7a 63 3c cd                               CRC32C of bytes 0..<24 (0xCD3C637A)
//       28  00 00 00 00                               reserved
//   record 1 (34 bytes)
//       32  19 00 00 00                               payload length 25
//       36  56 09 e0 34                               CRC32C of type + payload (0x34E00956)
//       40  01                                        type 1: transaction
//       41  01 00 00 00 00 00 00 00                   sequence 1
//       49  01 00 00 00                               1 mutation
//       53  01 05 00 01 00 00 00 61 6c 70 68 61 31    put, key 5 "alpha", value 1 "1"
//   record 2 (47 bytes)
//       66  26 00 00 00                               payload length 38
//       70  ae c9 50 a5                               CRC32C (0xA550C9AE)
//       74  01                                        type 1
//       75  02 00 00 00 00 00 00 00                   sequence 2
//       83  02 00 00 00                               2 mutations
//       87  01 04 00 03 00 00 00 62 65 74 61 74 77 6f put, key 4 "beta", value 3 "two"
//      101  01 05 00 00 00 00 00 67 61 6d 6d 61       put, key 5 "gamma", value 0 (empty)
//   record 3 (42 bytes)
//      113  21 00 00 00                               payload length 33
//      117  7e b4 80 e0                               CRC32C (0xE080B47E)
//      121  01                                        type 1
//      122  03 00 00 00 00 00 00 00                   sequence 3
//      130  02 00 00 00                               2 mutations
//      134  02 05 00 61 6c 70 68 61                   delete, key 5 "alpha"
//      142  01 02 00 04 00 00 00 00 ff de ad be ef    put, key 2 [00 ff], value 4 [de ad be ef]
//   record 4 (33 bytes)
//      155  18 00 00 00                               payload length 24
//      159  4b 58 ba bc                               CRC32C (0xBCBA584B)
//      163  01                                        type 1
//      164  04 00 00 00 00 00 00 00                   sequence 4
//      172  01 00 00 00                               1 mutation
//      176  01 04 00 01 00 00 00 62 65 74 61 32       put, key 4 "beta", value 1 "2"
//      188  end of file

import Testing

@_spi(Testing) @testable import Logbook

@Suite struct GoldenLogTests {
    static let records: [LogRecord] = [
        LogRecord(sequence: 1, mutations: [.put(key: b("alpha"), value: b("1"))]),
        LogRecord(sequence: 2, mutations: [.put(key: b("beta"), value: b("two")), .put(key: b("gamma"), value: [])]),
        LogRecord(
            sequence: 3,
            mutations: [.delete(key: b("alpha")), .put(key: [0x00, 0xFF], value: [0xDE, 0xAD, 0xBE, 0xEF])]),
        LogRecord(sequence: 4, mutations: [.put(key: b("beta"), value: b("2"))]),
    ]

    /// The keys a store whose log is the fixture holds, in key order.
    static let expectedState: [KeyValue] = [
        KeyValue(key: [0x00, 0xFF], value: [0xDE, 0xAD, 0xBE, 0xEF]),
        KeyValue(key: b("beta"), value: b("2")),
        KeyValue(key: b("gamma"), value: []),
    ]

    static var fixturePath: String {
        let file = "\(#filePath)"
        return String(file[..<file.lastIndex(of: "/")!]) + "/Fixtures/golden.wal"
    }

    @Test func encodingTheRecordsReproducesTheFixtureByteForByte() throws {
        let golden = try #require(Disk.readIfPresent(Self.fixturePath), "missing fixture \(Self.fixturePath)")
        #expect(golden.count == 188)
        var encoded = LogFormat.segmentHeader(number: 1)
        for record in Self.records { LogFormat.appendRecord(record, to: &encoded) }
        #expect(encoded == golden)
        // The pieces at the offsets the comment above documents.
        #expect(Array(golden[0..<8]) == Array("LOGBKWAL".utf8))
        #expect(LogFormat.segmentHeaderSize == 32 && LogFormat.version == 1)
        #expect(Array(golden[32..<66]) == LogFormat.encode(Self.records[0]))
        #expect(Array(golden[155..<188]) == LogFormat.encode(Self.records[3]))
    }

    @Test func theFixtureParsesToTheRecords() throws {
        let golden = try #require(Disk.readIfPresent(Self.fixturePath), "missing fixture \(Self.fixturePath)")
        #expect(LogFormat.parseSegmentHeader(golden) == 1)
        let parsed = parseLog(Array(golden[32...]), base: 32)
        #expect(parsed.records == Self.records)
        #expect(parsed.recordEnds == [66, 113, 155, 188])
        #expect(parsed.result.end == .clean)
    }

    @Test func aStoreWhoseLogIsTheFixtureOpensToTheExpectedKeys() throws {
        try withTemporaryDirectory("golden") { dir in
            let golden = try #require(Disk.readIfPresent(Self.fixturePath), "missing fixture \(Self.fixturePath)")
            Disk.makeDirectory(dir.store)
            Disk.write(dir.log, golden)

            let store = try Store(path: dir.store, options: relaxed())
            #expect(try store.scan() == Self.expectedState)
            #expect(try store.get(b("alpha")) == nil)
            #expect(try store.string("beta") == "2")
            #expect(try store.get(b("gamma")) == [])
            #expect(try store.stats().lastSequence == 4)
            let report = try store.verify()
            #expect(report.records == 4)
            #expect(report.bytes == 188)
            #expect(report.tornTail == nil)

            // The next commit continues the fixture's history: sequence 5, appended at 188 (and
            // followed by nothing but the zeros a writer that maps the log allocates ahead).
            try store.put("delta", "4")
            let log = Disk.read(dir.log)
            let record = LogFormat.encode(LogRecord(sequence: 5, mutations: [.put(key: b("delta"), value: b("4"))]))
            #expect(Array(log[..<188]) == golden)
            #expect(Array(log[188..<188 + record.count]) == record)
            #expect(log[(188 + record.count)...].allSatisfy { $0 == 0 })
            store.close()
        }
    }
}
