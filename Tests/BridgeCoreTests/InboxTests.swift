// InboxTests: the drop directories of a ServerCore, with real files, a real FIFO and symlink,
// and the real cc-bridge-agent running a script that logs every prompt it gets. Files renamed in
// go out in name order, each once, and move to done/ with a .result naming the prompt id; the
// same file name dropped again is not sent twice; every bad kind of file (malformed JSON, no
// text, too large, not UTF-8, a symlink, a FIFO, unreadable, an unknown instance) moves to
// failed/ with an .error that says why, and nothing of it reaches the agent.

import Foundation
import Testing
@testable import BridgeCore
#if canImport(Glibc)
import Glibc
#endif

/// An agent whose every prompt is appended to `got.log` (one line each) and answered.
final class LoggingAgent {
    let agent: RealAgent
    let log: String

    init(_ s: ServerFixture, name: String = "a") throws {
        log = s.tmp.file("got-\(name).log")
        let job = s.tmp.file("job-\(name).sh")
        try "#!/bin/sh\nprintf '%s\\n' \"$1\" >> '\(log)'\necho \"got $1\"\n".write(toFile: job, atomically: true, encoding: .utf8)
        chmod(job, 0o755)
        agent = try RealAgent(["serve", "--name", name, "--pipe-dir", s.dir, "--heartbeat", "0", "--protocol", "plain", "--exec", job])
        #expect(s.spin { s.core.list().contains { $0.info.name == name && $0.activity != nil } }, "the server never read \(name)")
    }

    var prompts: [String] {
        ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    deinit { agent.kill9() }
}

@Suite(.serialized) struct InboxTests {
    /// Writes `bytes` to a hidden temp name in the directory, then renames it to `name`.
    static func drop(_ bytes: [UInt8], as name: String, in directory: String) throws {
        let temp = directory + "/.tmp-" + name
        try Data(bytes).write(to: URL(fileURLWithPath: temp))
        #expect(rename(temp, directory + "/" + name) == 0)
    }

    static func drop(_ text: String, as name: String, in directory: String) throws {
        try drop(Array(text.utf8), as: name, in: directory)
    }

    static func files(_ directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    }

    /// More drop directories than one look takes (InboxWatcher.perTick): each is still looked at,
    /// in turn, and a file in every one of them is taken (here refused: no such instance).
    @Test func withManyDropDirectoriesAFileInEachIsTakenInTurn() throws {
        let s = try ServerFixture()
        // The watcher starts once the server has listed a pipe directory with an instance in it.
        try FifoSafety.create(s.dir + "/a.in.fifo")
        try FifoSafety.create(s.dir + "/a.out.fifo")
        #expect(s.spin { s.core.list().contains { $0.info.name == "a" } })
        let names = (0..<(InboxWatcher.perTick * 2 + 44)).map { String(format: "x%03d", $0) }
        for name in names {
            let dir = s.core.inboxDirectory(of: name)
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try Self.drop("hello", as: "1.txt", in: dir)
        }
        #expect(s.spin(60) { names.allSatisfy { FileManager.default.fileExists(atPath: s.core.inboxDirectory(of: $0) + "/failed/1.txt") } },
                "not taken: \(names.filter { !FileManager.default.fileExists(atPath: s.core.inboxDirectory(of: $0) + "/failed/1.txt") }.prefix(5))")
    }

    @Test func droppedFilesGoOutInNameOrderOnceAndMoveToDone() throws {
        let s = try ServerFixture()
        let agent = try LoggingAgent(s)
        let inbox = s.core.inboxDirectory(of: "a")
        #expect(s.spin { FileManager.default.fileExists(atPath: inbox + "/done") }, "no drop directory at \(inbox)")
        try Self.drop("hello three\n", as: "003.txt", in: inbox)
        try Self.drop(#"{"text": "hello two", "id": "second-one"}"#, as: "002.json", in: inbox)
        try Self.drop("hello one", as: "001.txt", in: inbox)
        #expect(s.spin(60) { Self.files(inbox + "/done").filter { !$0.hasSuffix(".result") }.count == 3 },
                "done: \(Self.files(inbox + "/done")), failed: \(Self.files(inbox + "/failed"))")
        #expect(s.spin { agent.prompts.count == 3 })
        #expect(agent.prompts == ["hello one", "hello two", "hello three"], "the agent got \(agent.prompts)")
        let result = try String(contentsOfFile: inbox + "/done/002.json.result", encoding: .utf8)
        #expect(result.contains(#""prompt_id":"second-one""#) && result.contains(#""result":"delivered""#), "\(result)")
        #expect(Self.files(inbox).filter(InboxFile.isCandidate).isEmpty && Self.files(inbox + "/processing").isEmpty)
        // Their turns, with origin inbox (how each ended is the plain protocol's business: the
        // next file goes once the agent has the prompt, not once its turn ends).
        #expect(s.core.history(of: "a").filter { $0.origin == .inbox }.map(\.id) == ["001", "second-one", "003"],
                "history: \(s.core.history(of: "a"))")
        #expect(s.core.history(of: "a").contains { $0.id == "001" && $0.prompt == "hello one" })
        // The same name again is the same prompt: answered from the first time, not sent.
        try Self.drop("hello one", as: "001.txt", in: inbox)
        try Self.drop("a marker", as: "004.txt", in: inbox)
        #expect(s.spin(60) { agent.prompts.last == "a marker" })
        #expect(s.spin { FileManager.default.fileExists(atPath: inbox + "/done/004.txt") })
        #expect(agent.prompts == ["hello one", "hello two", "hello three", "a marker"], "the agent got \(agent.prompts)")
        #expect(FileManager.default.fileExists(atPath: inbox + "/done/001.txt"))
    }

    @Test func everyBadKindOfFileMovesToFailedWithTheReasonAndSendsNothing() throws {
        let s = try ServerFixture { $0.server.maxPromptBytes = 64 }
        let agent = try LoggingAgent(s)
        let inbox = s.core.inboxDirectory(of: "a")
        #expect(s.spin { FileManager.default.fileExists(atPath: inbox + "/failed") })
        var expected: [String: String] = [
            "malformed.json": "malformed JSON",
            "no-text.json": "missing \"text\"",
            "too-big.txt": "larger than the limit of 64 bytes (server.max_prompt_bytes)",
            "too-big.json": "the text is 100 bytes, larger than the limit of 64 bytes (server.max_prompt_bytes)",
            "not-utf8.txt": "not valid UTF-8",
            "link.txt": "symbolic link",
            "pipe.txt": "FIFO",
            "bad id.txt": "not a usable prompt id",
        ]
        try Self.drop(#"{"text": "cut off"#, as: "malformed.json", in: inbox)
        try Self.drop(#"{"id": "x1"}"#, as: "no-text.json", in: inbox)
        try Self.drop(String(repeating: "x", count: 100), as: "too-big.txt", in: inbox)
        try Self.drop(#"{"text": ""# + String(repeating: "y", count: 100) + #""}"#, as: "too-big.json", in: inbox)
        try Self.drop([0x68, 0x69, 0xFF, 0xFE], as: "not-utf8.txt", in: inbox)
        try Self.drop("fine text", as: "bad id.txt", in: inbox)
        let target = s.tmp.file("secret.txt")
        try "from a link".write(toFile: target, atomically: true, encoding: .utf8)
        #expect(symlink(target, inbox + "/.link") == 0 && rename(inbox + "/.link", inbox + "/link.txt") == 0)
        #expect(mkfifo(inbox + "/.pipe", 0o600) == 0 && rename(inbox + "/.pipe", inbox + "/pipe.txt") == 0)
        if geteuid() != 0 {
            // root reads a mode-000 file anyway: the kind is only tested as a user.
            try Self.drop("locked", as: "unreadable.txt", in: inbox)
            expected["unreadable.txt"] = "cannot be read: Permission denied"
        }
        let ghost = InboxWatcher.directory(root: s.core.inboxRoot, instance: "ghost")
        try FileManager.default.createDirectory(atPath: ghost, withIntermediateDirectories: true)
        try Self.drop("to nobody", as: "x.txt", in: ghost)
        if geteuid() != 0 { chmod(inbox + "/unreadable.txt", 0) }
        #expect(s.spin(60) { Self.files(inbox + "/failed").filter { $0.hasSuffix(".error") }.count == expected.count },
                "failed: \(Self.files(inbox + "/failed")), done: \(Self.files(inbox + "/done"))")
        for (name, phrase) in expected {
            let error = (try? String(contentsOfFile: inbox + "/failed/" + name + ".error", encoding: .utf8)) ?? "(none)"
            #expect(error.contains(phrase), "\(name): \(error)")
            #expect(FileManager.default.fileExists(atPath: inbox + "/failed/" + name) || Self.isLink(inbox + "/failed/" + name),
                    "\(name) is not in failed/")
        }
        #expect(s.spin { FileManager.default.fileExists(atPath: ghost + "/failed/x.txt.error") })
        let ghostError = (try? String(contentsOfFile: ghost + "/failed/x.txt.error", encoding: .utf8)) ?? ""
        #expect(ghostError.contains("no instance \"ghost\""), "\(ghostError)")
        // The link's target is untouched and unread; the FIFO was never opened for a read that blocks.
        #expect((try? String(contentsOfFile: target, encoding: .utf8)) == "from a link")
        try Self.drop("the only good one", as: "zz-good.txt", in: inbox)
        #expect(s.spin(60) { agent.prompts.last == "the only good one" })
        #expect(agent.prompts == ["the only good one"], "the agent got \(agent.prompts)")
    }

    /// `server.inbox_dir` moves the drop directories (`~` expanded); the default is under the
    /// state directory.
    @Test func theDropDirectoryIsWhereTheConfigSays() throws {
        let tmp = TempDir()
        let s = try ServerFixture(tmp: tmp) { $0.server.inboxDir = tmp.file("drops") }
        let agent = try LoggingAgent(s)
        #expect(s.core.inboxDirectory(of: "a") == tmp.file("drops") + "/a")
        #expect(s.spin { FileManager.default.fileExists(atPath: tmp.file("drops") + "/a/done") })
        try Self.drop("to the configured place", as: "1.txt", in: tmp.file("drops") + "/a")
        #expect(s.spin(60) { agent.prompts == ["to the configured place"] }, "the agent got \(agent.prompts)")
        #expect(!FileManager.default.fileExists(atPath: s.state + "/inbox"))
        let plain = try ServerFixture()
        #expect(plain.core.inboxRoot == plain.state + "/inbox")
    }

    static func isLink(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && UInt32(st.st_mode) & UInt32(S_IFMT) == UInt32(S_IFLNK)
    }
}
