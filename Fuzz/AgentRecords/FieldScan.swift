/// The fields of an agent record value, read by a scanner of the fuzzer's own, written from the
/// format in Docs/Agents.md ("Records on disk") rather than from `RecordReader`: byte 0 the
/// format version (1), byte 1 the record type, then fields, each a tag byte (field number << 1 |
/// wire type) and an unsigned LEB128 varint (wire 0) or a varint length and that many bytes
/// (wire 1: text or a nested record of fields without header).
///
/// Varints: in their shortest form (no zero last byte after the first) and within 64 bits (a
/// tenth byte holds bit 63 only); anything else breaks the framing.
struct FieldScan {
    enum Value: Equatable {
        case number(UInt64)
        case bytes(Range<Int>)
    }

    struct Field {
        var number: UInt8
        var value: Value
    }

    /// The fields in order, up to where the framing broke, if it did.
    var scanned: [Field] = []
    /// Whether every byte was read as fields: the framing is not broken (no varint or length
    /// running past the end, no varint that is not in its shortest form or exceeds 64 bits).
    var complete = false

    /// The fields, or nil when the framing is broken.
    var fields: [Field]? { complete ? scanned : nil }

    /// The fields of `bytes[range]` (no header).
    init(_ bytes: [UInt8], _ range: Range<Int>) {
        var position = range.lowerBound
        func varint() -> UInt64? {
            var value: UInt64 = 0
            for i in 0..<10 {
                guard position < range.upperBound else { return nil }
                let b = bytes[position]
                position += 1
                if i == 9 && b > 1 { return nil }
                value |= UInt64(b & 0x7F) &<< UInt64(7 * i)
                if b < 0x80 { return b == 0 && i > 0 ? nil : value }
            }
            return nil
        }
        while position < range.upperBound {
            let tag = bytes[position]
            position += 1
            guard let v = varint() else { return }
            if tag & 1 == 0 {
                scanned.append(Field(number: tag >> 1, value: .number(v)))
            } else {
                guard v <= UInt64(range.upperBound - position) else { return }
                let end = position + Int(v)
                scanned.append(Field(number: tag >> 1, value: .bytes(position..<end)))
                position = end
            }
        }
        complete = true
    }

    /// Whether `value` has a valid header of `type` and fields that scan, with every field the
    /// record type knows of its wire type: `numbers` varints, `texts` bytes, `nested` bytes that
    /// scan as fields with `nestedNumbers` varints and `nestedTexts` bytes. (Field numbers not
    /// listed are skipped whatever their wire type.)
    static func wellFormed(
        _ value: [UInt8], type: UInt8, numbers: Set<UInt8>, texts: Set<UInt8>, nested: UInt8? = nil,
        nestedNumbers: Set<UInt8> = [], nestedTexts: Set<UInt8> = []
    ) -> [Field]? {
        guard value.count >= 2, value[0] == 1, value[1] == type, let fields = FieldScan(value, 2..<value.count).fields
        else { return nil }
        for field in fields {
            switch field.value {
            case .number:
                if texts.contains(field.number) || field.number == nested { return nil }
            case .bytes(let range):
                if numbers.contains(field.number) { return nil }
                if field.number == nested {
                    guard let inner = FieldScan(value, range).fields else { return nil }
                    for f in inner {
                        switch f.value {
                        case .number: if nestedTexts.contains(f.number) { return nil }
                        case .bytes: if nestedNumbers.contains(f.number) { return nil }
                        }
                    }
                }
            }
        }
        return fields
    }
}

extension Array where Element == FieldScan.Field {
    /// How many times field `number` occurs.
    func count(_ number: UInt8) -> Int { reduce(0) { $0 + ($1.number == number ? 1 : 0) } }

    /// The value of the last varint field `number` (the one a decoder keeps), or nil.
    func lastNumber(_ number: UInt8) -> UInt64? {
        for field in reversed() where field.number == number {
            if case .number(let v) = field.value { return v }
        }
        return nil
    }

    /// Whether field `number` occurs.
    func has(_ number: UInt8) -> Bool { contains { $0.number == number } }
}
