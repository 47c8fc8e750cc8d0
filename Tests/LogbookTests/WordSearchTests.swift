// The branch-free search every look-up starts with: against a linear scan, over arrays with
// runs of equal words, targets below, between, on and above them, and the extreme words.

import CLogbookShims
import LogbookTestSupport
import Testing

@testable import Logbook

@Suite struct WordSearchTests {
    @Test func firstWordAtLeastMatchesALinearScan() {
        var random = SeededGenerator(seed: 77)
        for count in 0...70 {
            for _ in 0..<40 {
                // Few distinct words, so that runs of equal ones are common.
                let pool: [UInt64] = [0, 1, 2, 0x7FFF, 0x8000_0000_0000_0000, .max - 1, .max]
                let words = (0..<count).map { _ in pool[Int(random.next() % UInt64(pool.count))] }.sorted()
                for target in pool + [3, 0x8000, .max / 2] {
                    let expected = words.firstIndex { $0 >= target } ?? count
                    let got = words.withUnsafeBufferPointer { w in firstWord(atLeast: target, count: count) { w[$0] } }
                    #expect(got == expected, "target \(target) in \(words)")
                }
            }
        }
    }

    @Test func selectBelowComparesUnsigned() {
        #expect(lb_select_below(1, 2, 10, 20) == 10)
        #expect(lb_select_below(2, 2, 10, 20) == 20)
        #expect(lb_select_below(3, 2, 10, 20) == 20)
        #expect(lb_select_below(0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, -1, 5) == -1)
        #expect(lb_select_below(.max, 0, 10, 20) == 20)
    }
}
