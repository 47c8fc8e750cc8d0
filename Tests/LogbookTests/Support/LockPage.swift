// The shared page of a store's LOCK file, read and written from outside the store (layout in
// ProcessLock.swift): tests make it claim what a process killed at the right moment would leave.

import Glibc
import Testing

enum LockPage {
    /// Offset after the last published record.
    static let publishedEnd = 16
    /// Set before a writer appends; ahead of `appendedEnd` while an append is in flight.
    static let pendingEnd = 24
    /// Offset after the last whole record written.
    static let appendedEnd = 152

    static func word(_ store: String, _ offset: Int) throws -> UInt64 {
        try withPage(store) { $0.load(fromByteOffset: offset, as: UInt64.self) }
    }

    static func setWord(_ store: String, _ offset: Int, _ value: UInt64) throws {
        try withPage(store) { $0.storeBytes(of: value, toByteOffset: offset, as: UInt64.self) }
    }

    /// Makes the page claim an append in flight, as a writer killed mid-append leaves it: the
    /// next writer reads the files instead of trusting the page.
    static func claimAnAppendInFlight(_ store: String) throws {
        try setWord(store, pendingEnd, try word(store, appendedEnd) + 1)
    }

    private static func withPage<T>(_ store: String, _ body: (UnsafeMutableRawPointer) -> T) throws -> T {
        let fd = open(store + "/LOCK", O_RDWR)
        try #require(fd >= 0)
        defer { close(fd) }
        let page = try #require(mmap(nil, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0))
        try #require(page != MAP_FAILED)
        defer { munmap(page, 4096) }
        return body(page)
    }
}
