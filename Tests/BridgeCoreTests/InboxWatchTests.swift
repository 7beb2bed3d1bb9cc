// InboxWatchTests: the InboxWatcher alone on real directories, with its timer set to an hour, so
// only inotify (DirectoryEvents) can make it see a file: a file renamed into a drop directory,
// one into a drop directory made after the start, and one into a drop directory removed and made
// again are each taken within seconds. Without inotify (`useEvents: false`) the fallback look on
// the timer takes them as before.

import Foundation
import Testing
@testable import BridgeCore
#if canImport(Glibc)
import Glibc
#endif

@Suite(.serialized) struct InboxWatchTests {
    /// A watcher under a fresh root whose submit records `instance: text` and answers delivered.
    final class Fixture {
        let tmp = TempDir()
        let loop: EventLoop
        let watcher: InboxWatcher
        var root: String { tmp.file("inbox") }
        var taken: [String] = []

        init(interval: Double = 3600, useEvents: Bool = true) throws {
            loop = try EventLoop()
            var got: (String) -> Void = { _ in }
            watcher = InboxWatcher(loop: loop, root: tmp.file("inbox"), maxBytes: 1 << 20, interval: interval, sweepInterval: interval,
                                   useEvents: useEvents, knows: { _ in true }) { name, prompt, done in
                got("\(name): \(prompt.text)")
                done(.delivered(promptID: prompt.id))
            }
            got = { [unowned self] line in self.taken.append(line) }
        }

        deinit { watcher.stop() }

        func start(with instances: [String]) {
            try? FifoSafety.ensureDirectory(root)
            for name in instances { watcher.prepare(name) }
            watcher.start()
        }

        func drop(_ text: String, as name: String, into instance: String) throws {
            try InboxTests.drop(text, as: name, in: InboxWatcher.directory(root: root, instance: instance))
        }

        func spin(_ timeout: Double = 10, _ condition: () -> Bool) -> Bool { BridgeCoreTests.spin(loop, timeout: timeout, until: condition) }
    }

    @Test func aFileDroppedAfterTheStartIsTakenWithoutWaitingForTheTimer() throws {
        let f = try Fixture()
        f.start(with: ["a", "b"])
        // The start's own look has passed: from now on only the timer (an hour) or inotify sees files.
        #expect(!f.spin(0.3) { !f.taken.isEmpty })
        try f.drop("first", as: "1.txt", into: "b")
        #expect(f.spin { f.taken == ["b: first"] }, "taken: \(f.taken)")
        try f.drop("second", as: "2.txt", into: "a")
        try f.drop("third", as: "3.txt", into: "a")
        #expect(f.spin { f.taken.count == 3 }, "taken: \(f.taken)")
        #expect(f.taken == ["b: first", "a: second", "a: third"])
        #expect(FileManager.default.fileExists(atPath: InboxWatcher.directory(root: f.root, instance: "a") + "/done/3.txt.result"))
    }

    @Test func aDropDirectoryMadeAfterTheStartIsWatchedToo() throws {
        let f = try Fixture()
        f.start(with: ["a"])
        #expect(!f.spin(0.3) { !f.taken.isEmpty })
        let late = InboxWatcher.directory(root: f.root, instance: "late")
        try FileManager.default.createDirectory(atPath: late, withIntermediateDirectories: false)
        // However soon after the directory the file comes, it is seen (watch first, then a look).
        try f.drop("hello", as: "1.txt", into: "late")
        #expect(f.spin { f.taken == ["late: hello"] }, "taken: \(f.taken)")
        try f.drop("again", as: "2.txt", into: "late")
        #expect(f.spin { f.taken == ["late: hello", "late: again"] }, "taken: \(f.taken)")
    }

    @Test func aDropDirectoryRemovedAndMadeAgainIsWatchedAgain() throws {
        let f = try Fixture()
        f.start(with: ["a"])
        try f.drop("before", as: "1.txt", into: "a")
        #expect(f.spin { f.taken == ["a: before"] }, "taken: \(f.taken)")
        let dir = InboxWatcher.directory(root: f.root, instance: "a")
        try FileManager.default.removeItem(atPath: dir)
        #expect(!f.spin(0.3) { false })
        f.watcher.prepare("a")
        try f.drop("after", as: "2.txt", into: "a")
        #expect(f.spin { f.taken == ["a: before", "a: after"] }, "taken: \(f.taken)")
    }

    /// No inotify: the timer's look (every `interval`) takes the files, as before.
    @Test func withoutInotifyTheTimerTakesTheFiles() throws {
        let f = try Fixture(interval: 0.05, useEvents: false)
        f.start(with: ["a"])
        #expect(f.watcher.watchedDirectories == 0)
        try f.drop("polled", as: "1.txt", into: "a")
        #expect(f.spin { f.taken == ["a: polled"] }, "taken: \(f.taken)")
        let late = InboxWatcher.directory(root: f.root, instance: "late")
        try FileManager.default.createDirectory(atPath: late, withIntermediateDirectories: false)
        try f.drop("polled too", as: "1.txt", into: "late")
        #expect(f.spin { f.taken == ["a: polled", "late: polled too"] }, "taken: \(f.taken)")
    }
}
