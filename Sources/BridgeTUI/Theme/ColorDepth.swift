// ColorDepth: what the terminal can show, and the pure fallback truecolor -> 256 -> 16 -> 8 -> none.

public enum ColorDepth: Int, Comparable, Hashable, Sendable, CaseIterable {
    case none = 0, colors8, colors16, colors256, trueColor

    public static func < (a: ColorDepth, b: ColorDepth) -> Bool { a.rawValue < b.rawValue }

    /// From ncurses' COLORS (after start_color) and the environment (NO_COLOR wins).
    public static func detect(colors: Int, environment: [String: String]) -> ColorDepth {
        if let noColor = environment["NO_COLOR"], !noColor.isEmpty { return .none }
        switch colors {
        case (1 << 24)...: return .trueColor
        case 256...: return .colors256
        case 16...: return .colors16
        case 8...: return .colors8
        default: return .none
        }
    }

    /// The colour to draw for `color` on a terminal of `depth`.
    public static func resolve(_ color: CellColor, _ depth: ColorDepth) -> CellColor {
        switch (color, depth) {
        case (.default, _), (_, .none): return .default
        case (.rgb, .trueColor): return color
        case (.rgb(let r, let g, let b), _):
            return resolve(.palette(nearest256(r, g, b)), depth)
        case (.palette(let n), _) where n < 16:
            return resolve(.ansi(n), depth)
        case (.palette, .trueColor), (.palette, .colors256): return color
        case (.palette(let n), _):
            return resolve(.ansi(nearest16(palette: n)), depth)
        case (.ansi(let n), .colors8): return .ansi(n & 7)
        case (.ansi, _): return color
        }
    }

    static let cubeLevels: [Int] = [0, 95, 135, 175, 215, 255]

    /// The nearest entry of the xterm 256-colour cube (16-231) or grey ramp (232-255).
    public static func nearest256(_ r: UInt8, _ g: UInt8, _ b: UInt8) -> UInt8 {
        func level(_ v: UInt8) -> Int {
            let v = Int(v)
            return v < 48 ? 0 : v < 115 ? 1 : (v - 35) / 40
        }
        let (ri, gi, bi) = (level(r), level(g), level(b))
        let cube = 16 + 36 * ri + 6 * gi + bi
        let cubeRGB = (cubeLevels[ri], cubeLevels[gi], cubeLevels[bi])
        let average = (Int(r) + Int(g) + Int(b)) / 3
        let greyIndex = average > 238 ? 23 : max(0, (average - 3) / 10)
        let grey = 8 + 10 * greyIndex
        func distance(_ c: (Int, Int, Int)) -> Int {
            let (dr, dg, db) = (c.0 - Int(r), c.1 - Int(g), c.2 - Int(b))
            return dr * dr + dg * dg + db * db
        }
        return distance((grey, grey, grey)) < distance(cubeRGB) ? UInt8(232 + greyIndex) : UInt8(cube)
    }

    /// RGB of a 256-palette entry.
    public static func rgb(ofPalette n: UInt8) -> (Int, Int, Int) {
        let n = Int(n)
        if n < 16 { return ansiRGB[n] }
        if n < 232 {
            let i = n - 16
            return (cubeLevels[i / 36], cubeLevels[(i / 6) % 6], cubeLevels[i % 6])
        }
        let v = 8 + 10 * (n - 232)
        return (v, v, v)
    }

    /// xterm's default RGB for the 16 ANSI colours.
    static let ansiRGB: [(Int, Int, Int)] = [
        (0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205), (0, 205, 205), (229, 229, 229),
        (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0), (92, 92, 255), (255, 0, 255), (0, 255, 255), (255, 255, 255),
    ]

    public static func nearest16(palette n: UInt8) -> UInt8 {
        let (r, g, b) = rgb(ofPalette: n)
        var best = 0, bestDistance = Int.max
        for (i, c) in ansiRGB.enumerated() {
            let d = (c.0 - r) * (c.0 - r) + (c.1 - g) * (c.1 - g) + (c.2 - b) * (c.2 - b)
            if d < bestDistance { best = i; bestDistance = d }
        }
        return UInt8(best)
    }
}
