// FaultFuzzReplayTests: replays the committed fuzz seed corpora and every input a fuzz run found
// (Tests/Fixtures/fuzz-regressions/TARGET) through the ccb-fuzz replayer, which runs the same
// checks as the libFuzzer build (scripts/fuzz). A regression traps and fails the test.

import Foundation
import Testing

@Suite struct FaultFuzzReplayTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures").path

    @Test(arguments: ["output", "protocol", "config", "ipc", "claude"])
    func seedCorpusAndRegressionsReplayCleanly(target: String) throws {
        let fuzz = try Binaries.path("ccb-fuzz")
        var files: [String] = []
        for kind in ["fuzz-corpus", "fuzz-regressions"] {
            let dir = Self.fixtures + "/" + kind + "/" + target
            let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
            files += names.filter { !$0.hasPrefix(".") }.sorted().map { dir + "/" + $0 }
        }
        #expect(!files.isEmpty)
        let result = try run(fuzz, [target] + files, timeout: 120)
        #expect(result.status == 0, "ccb-fuzz \(target) failed: \(result.stderr)")
        #expect(result.stdout.contains("\(files.count) inputs ok"))
    }
}
