import Testing
@testable import Logbook

@Test func smoke() throws {
    let dir = "/tmp/lb-smoke-\(UInt32.random(in: 0...UInt32.max))"
    do {
        let store = try Store(path: dir)
        try store.put("a", "1")
        try store.put("b", "2")
        #expect(try store.string("a") == "1")
        #expect(try store.delete("a") == true)
        #expect(try store.get("a") == nil)
        try store.write { tx in
            let v = Int(try tx.string("b") ?? "0")!
            try tx.put("b", String(v + 1))
        }
        #expect(try store.string("b") == "3")
        store.close()
    }
    let again = try Store(path: dir)
    #expect(try again.string("b") == "3")
    #expect(try again.get("a") == nil)
    #expect(try again.verify().records == 4)
}
