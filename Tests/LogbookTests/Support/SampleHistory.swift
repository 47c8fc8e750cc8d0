// A short, fixed history of commits used by the on-disk recovery tests, with the log offset
// where each commit's record starts and the state after each commit.

@_spi(Testing) import Logbook

struct SampleHistory {
    /// Log offset where record i + 1 starts; `starts[i + 1]` (or the log size) is where it ends.
    var starts: [Int] = []
    /// The log size after all commits.
    var end = 0
    /// `states[i]`: the whole store after i commits (`states[0]` is empty).
    var states: [[KeyValue]] = [[]]

    var count: Int { starts.count }

    /// Where record `index` (0-based) ends.
    func recordEnd(_ index: Int) -> Int { index + 1 < starts.count ? starts[index + 1] : end }

    /// Commits six transactions; the last one writes several keys at once, so a partly applied
    /// record would show.
    static func commit(to store: Store) throws -> SampleHistory {
        var history = SampleHistory()
        let commits: [(Store) throws -> Void] = [
            { try $0.put("a", "1") },
            { try $0.put("b", "two") },
            {
                try $0.write { tx in
                    try tx.put("c", "3")
                    try tx.put("d", "4")
                }
            },
            { _ = try $0.delete("a") },
            { try $0.put("b", "2") },
            {
                try $0.write { tx in
                    try tx.put("e", "5")
                    try tx.delete("c")
                    try tx.put("z", String(repeating: "z", count: 30))
                }
            },
        ]
        for commit in commits {
            history.starts.append(Int(try store.stats().logBytes))
            try commit(store)
            history.states.append(try store.scan())
        }
        history.end = Int(try store.stats().logBytes)
        return history
    }
}
