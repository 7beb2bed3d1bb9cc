// Entry: how ccb-fuzz starts. Built with `-DFUZZING` (scripts/fuzz) it exports
// LLVMFuzzerTestOneInput for libFuzzer, the target chosen by $CCB_FUZZ_TARGET. A normal build is
// a replayer: `ccb-fuzz TARGET FILE...` runs the same function over saved inputs (seed corpora,
// crash regressions), so tests can replay them without libFuzzer.

#if canImport(Glibc)
import Glibc
#endif

/// Writes a line to standard error (write(2): no shared FILE*).
func printError(_ message: String) {
    let bytes = Array((message + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

#if FUZZING
private let selected: FuzzTarget = {
    let name = getenv("CCB_FUZZ_TARGET").map { String(cString: $0) } ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
        printError("ccb-fuzz: set CCB_FUZZ_TARGET to one of \(FuzzTarget.allCases.map(\.rawValue))")
        exit(2)
    }
    return target
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    selected.run(UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size))
    return 0
}

/// libFuzzer's driver (FuzzerDriver.cpp). SwiftPM links an executable's entry point as `main`
/// itself, so libFuzzer's own `main` is never used: ours hands control to the driver.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32

@main
enum Fuzzer {
    static func main() {
        _ = selected
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzOneInput))
    }
}
#else
@main
enum Replayer {
    static func main() {
        let args = Array(CommandLine.arguments.dropFirst())
        guard let name = args.first, let target = FuzzTarget(rawValue: name) else {
            printError("usage: ccb-fuzz \(FuzzTarget.allCases.map(\.rawValue).joined(separator: "|")) FILE...")
            exit(2)
        }
        var count = 0
        for path in args.dropFirst() {
            guard let bytes = readAll(path) else {
                printError("ccb-fuzz: cannot read \(path)")
                exit(1)
            }
            bytes.withUnsafeBytes { target.run($0) }
            count += 1
        }
        print("ccb-fuzz \(name): \(count) inputs ok")
    }

    static func readAll(_ path: String) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&buffer, 1, buffer.count, file)
            if n > 0 { bytes.append(contentsOf: buffer[..<n]) }
            if n < buffer.count { break }
        }
        return bytes
    }
}
#endif
