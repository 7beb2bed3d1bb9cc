// FifoSafetyTests: creation modes, refusal of symlinks, regular files and foreign owners.

import Foundation
import Testing
@testable import BridgeCore
#if canImport(Glibc)
import Glibc
#endif

@Suite struct FifoSafetyTests {
    @Test func createsFifoWith0660AndDirectoryWith0700() throws {
        let tmp = TempDir()
        let dir = tmp.file("a/b/pipes")
        try FifoSafety.ensureDirectory(dir)
        var st = stat()
        #expect(lstat(dir, &st) == 0)
        #expect(UInt32(st.st_mode) & 0o777 == 0o700)
        let old = umask(0o077)
        defer { umask(old) }
        #expect(try FifoSafety.create(dir + "/x.in.fifo") == true)
        #expect(lstat(dir + "/x.in.fifo", &st) == 0)
        #expect(UInt32(st.st_mode) & 0o777 == 0o660)
        #expect(UInt32(st.st_mode) & UInt32(S_IFMT) == UInt32(S_IFIFO))
        // An existing FIFO is reused.
        #expect(try FifoSafety.create(dir + "/x.in.fifo") == false)
    }

    @Test func symlinkToRegularFileIsRefusedAndFileUntouched() throws {
        let tmp = TempDir()
        let target = tmp.file("precious.txt")
        try "keep me".write(toFile: target, atomically: true, encoding: .utf8)
        let link = tmp.file("x.in.fifo")
        #expect(symlink(target, link) == 0)

        #expect(throws: PipeSafetyError.symlink(path: link)) { try FifoSafety.check(link) }
        #expect(throws: PipeSafetyError.symlink(path: link)) { try FifoSafety.create(link) }
        #expect(throws: PipeSafetyError.symlink(path: link)) { _ = try FifoSafety.open(link, flags: O_WRONLY) }
        let writer = PromptWriter()
        let result = writer.send(Array("rm -rf /\n".utf8), to: link, timeout: 0.2)
        #expect(result.failure == .unsafe(.symlink(path: link)))
        #expect(throws: PipeSafetyError.symlink(path: link)) { try FifoSafety.remove(link) }
        #expect(try String(contentsOfFile: target, encoding: .utf8) == "keep me")
        #expect(FifoSafety.inspect(link) == .symlink)
    }

    @Test func regularFileIsRefused() throws {
        let tmp = TempDir()
        let path = tmp.file("x.out.fifo")
        try "data".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: PipeSafetyError.notFifo(path: path, kind: "regular file")) {
            _ = try FifoSafety.open(path, flags: O_RDONLY)
        }
        #expect(throws: PipeSafetyError.notFifo(path: path, kind: "regular file")) { try FifoSafety.remove(path) }
        #expect(FileManager.default.fileExists(atPath: path))
    }

    @Test func foreignOwnerIsRefusedEvenWithAllowUnsafe() throws {
        let tmp = TempDir()
        let path = tmp.file("x.in.fifo")
        #expect(mkfifo(path, 0o660) == 0)
        guard geteuid() == 0 else { return }  // only root can give a file away
        #expect(chown(path, 65534, 65534) == 0)
        #expect(throws: PipeSafetyError.foreignOwner(path: path, uid: 65534)) {
            try FifoSafety.check(path, policy: PipePolicy(allowUnsafe: true))
        }
        #expect(throws: PipeSafetyError.foreignOwner(path: path, uid: 65534)) {
            _ = try FifoSafety.open(path, flags: O_RDONLY, policy: PipePolicy(allowUnsafe: true))
        }
    }

    @Test func worldWritableFifoNeedsAllowUnsafe() throws {
        let tmp = TempDir()
        let path = tmp.file("x.in.fifo")
        #expect(mkfifo(path, 0o660) == 0)
        #expect(chmod(path, 0o666) == 0)
        #expect(throws: PipeSafetyError.unsafeMode(path: path, mode: 0o666)) { try FifoSafety.check(path) }
        try FifoSafety.check(path, policy: PipePolicy(allowUnsafe: true))
        let fd = try FifoSafety.open(path, flags: O_RDONLY, policy: PipePolicy(allowUnsafe: true))
        close(fd)
    }

    @Test func worldWritableDirectoryWithoutStickyBitIsFlagged() throws {
        let tmp = TempDir()
        let dir = tmp.file("pipes")
        #expect(mkdir(dir, 0o700) == 0)
        #expect(FifoSafety.directoryProblems(dir).isEmpty)
        #expect(chmod(dir, 0o777) == 0)
        #expect(FifoSafety.directoryProblems(dir).first?.contains("world-writable without the sticky bit") == true)
        #expect(chmod(dir, 0o1777) == 0)
        #expect(FifoSafety.directoryProblems(dir).isEmpty)
    }

    @Test func removeUnlinksOnlyFifos() throws {
        let tmp = TempDir()
        let fifo = tmp.file("a.in.fifo")
        #expect(mkfifo(fifo, 0o660) == 0)
        try FifoSafety.remove(fifo)
        #expect(FifoSafety.inspect(fifo) == .missing)
        try FifoSafety.remove(fifo)  // missing is fine
    }
}
