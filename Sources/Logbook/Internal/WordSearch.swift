import CLogbookShims

/// Index of the first of `count` ascending words that is >= `target` (`count` when none).
///
/// Branch-free (Khuong and Morin, "Array Layouts for Comparison-Based Searching"): each step
/// halves the range with a conditional move, not a jump, so a search of random keys pays no
/// mispredicted branch per step (about seven in a search of 4,000 words). `word(i)` loads word
/// `i`; the searches of shared words pass an atomic load.
@inline(__always)
func firstWord(atLeast target: UInt64, count: Int, _ word: (Int) -> UInt64) -> Int {
    guard count > 0 else { return 0 }
    var base = 0
    var length = count
    while length > 1 {
        let half = length &>> 1
        base = Int(lb_select_below(word(base &+ half), target, Int64(base &+ half), Int64(base)))
        length &-= half
    }
    return base &+ (word(base) < target ? 1 : 0)
}
