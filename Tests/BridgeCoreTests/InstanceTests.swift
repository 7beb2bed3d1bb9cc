// InstanceTests: name validation and discovery of instances, broken ones included.

import Foundation
import Testing
@testable import BridgeCore
#if canImport(Glibc)
import Glibc
#endif

@Suite struct InstanceTests {
    @Test(arguments: [
        ("../etc", InstanceName.Invalid.slash), ("a/b", .slash), ("..", .dotDot), ("a..b", .dotDot),
        ("", .empty), (".hidden", .leadingDot), ("new\nline", .controlCharacter), ("tab\there", .controlCharacter),
        ("with space", .whitespace), (String(repeating: "x", count: 300), .tooLong(300)), ("esc\u{1B}[2J", .controlCharacter),
    ])
    func invalidNamesAreRejected(raw: String, expected: InstanceName.Invalid) {
        #expect(InstanceName.problem(in: raw) == expected)
        #expect(throws: expected) { try InstanceName(validating: raw) }
    }

    @Test func validNamesBuildPathsInsideTheDirectory() throws {
        let name = try InstanceName(validating: "claude-1_a.b")
        #expect(name.inFifoPath(in: "/p") == "/p/claude-1_a.b.in.fifo")
        #expect(name.outFifoPath(in: "/p") == "/p/claude-1_a.b.out.fifo")
    }

    @Test func scannerListsPairsAndBrokenEntries() throws {
        let tmp = TempDir()
        let d = tmp.path
        #expect(mkfifo(d + "/good.in.fifo", 0o660) == 0)
        #expect(mkfifo(d + "/good.out.fifo", 0o660) == 0)
        #expect(mkfifo(d + "/half.in.fifo", 0o660) == 0)
        try "x".write(toFile: d + "/plain.in.fifo", atomically: true, encoding: .utf8)
        #expect(mkfifo(d + "/plain.out.fifo", 0o660) == 0)
        #expect(mkfifo(d + "/bad name.in.fifo", 0o660) == 0)
        try "unrelated".write(toFile: d + "/README", atomically: true, encoding: .utf8)

        let scan = InstanceScanner.scan(d)
        #expect(scan.directoryError == nil)
        let byName = Dictionary(uniqueKeysWithValues: scan.instances.map { ($0.name, $0) })
        #expect(byName.keys.sorted() == ["bad name", "good", "half", "plain"])
        #expect(byName["good"]?.status == .ready)
        #expect(byName["half"]?.brokenReason == "out-FIFO missing")
        #expect(byName["plain"]?.brokenReason == "in-FIFO is a regular file, not a FIFO")
        #expect(byName["bad name"]?.brokenReason?.hasPrefix("invalid name") == true)
    }

    @Test func scannerSeesInstancesAppearAndVanish() throws {
        let tmp = TempDir()
        #expect(InstanceScanner.scan(tmp.path).instances.isEmpty)
        #expect(mkfifo(tmp.file("a.in.fifo"), 0o660) == 0)
        #expect(mkfifo(tmp.file("a.out.fifo"), 0o660) == 0)
        #expect(InstanceScanner.scan(tmp.path).instances.map(\.name) == ["a"])
        unlink(tmp.file("a.in.fifo"))
        unlink(tmp.file("a.out.fifo"))
        #expect(InstanceScanner.scan(tmp.path).instances.isEmpty)
        #expect(InstanceScanner.scan(tmp.file("missing")).directoryError?.contains("does not exist") == true)
    }
}
