/// "Did you mean" for mistyped command names: the known name at the smallest edit distance.
enum Suggest {
    /// The command name nearest to `word` (Levenshtein distance at most 2, or a prefix of it),
    /// nil when none is close.
    static func command(for word: String) -> String? {
        let names = allCommands.map { $0.name } + ["help"]
        if let prefixed = names.first(where: { $0.hasPrefix(word) && word.count >= 2 }) { return prefixed }
        let scored = names.map { (name: $0, distance: distance(Array(word.utf8), Array($0.utf8))) }
        guard let best = scored.min(by: { $0.distance < $1.distance }), best.distance <= 2,
            best.distance < max(word.utf8.count, 1)
        else { return nil }
        return best.name
    }

    /// The Levenshtein distance between `a` and `b` (insertions, deletions, substitutions).
    static func distance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        if a.isEmpty { return b.count }
        var previous = Array(0...b.count)
        var current = previous
        for i in 1...a.count {
            current[0] = i
            for j in stride(from: 1, through: b.count, by: 1) {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
