/// A key in a transaction's read and write sets, hashed in one pass over its bytes (hashing
/// `[UInt8]` itself feeds the hasher one byte per call, which dominated small transactions).
struct HashedKey: Hashable {
    let bytes: [UInt8]

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    static func == (a: HashedKey, b: HashedKey) -> Bool { a.bytes == b.bytes }
}
