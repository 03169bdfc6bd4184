// Character classes the pre-tokenizer patterns use (\p{L}, \p{N}, \s, \p{P}, …), looked up per
// Unicode scalar. The Basic Multilingual Plane is a precomputed table (one byte per scalar); other
// planes ask the standard library's Unicode properties.

/// Bit flags of one Unicode scalar.
struct UnicodeClass: OptionSet, Sendable {
    let rawValue: UInt8
    static let letter = UnicodeClass(rawValue: 1)  // \p{L}: Lu Ll Lt Lm Lo
    static let number = UnicodeClass(rawValue: 2)  // \p{N}: Nd Nl No
    static let whitespace = UnicodeClass(rawValue: 4)  // \s: Unicode White_Space
    static let punctuation = UnicodeClass(rawValue: 8)  // \p{P}: Pc Pd Ps Pe Pi Pf Po
    static let mark = UnicodeClass(rawValue: 16)  // \p{M}: Mn Mc Me
    static let symbol = UnicodeClass(rawValue: 32)  // \p{S}: Sm Sc Sk So
    static let newline = UnicodeClass(rawValue: 64)  // \r or \n
    static let upper = UnicodeClass(rawValue: 128)  // Lu, Lt

    /// The class of any scalar value (invalid values have none).
    @inline(__always)
    static func of(_ v: UInt32) -> UnicodeClass {
        if v < 0x10000 { return UnicodeClass(rawValue: bmp[Int(v)]) }
        return compute(v)
    }

    static func compute(_ v: UInt32) -> UnicodeClass {
        guard let s = Unicode.Scalar(v) else { return [] }
        var c: UnicodeClass = []
        switch s.properties.generalCategory {
        case .uppercaseLetter, .titlecaseLetter: c.insert([.letter, .upper])
        case .lowercaseLetter, .modifierLetter, .otherLetter: c.insert(.letter)
        case .decimalNumber, .letterNumber, .otherNumber: c.insert(.number)
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
            .initialPunctuation, .finalPunctuation, .otherPunctuation:
            c.insert(.punctuation)
        case .nonspacingMark, .spacingMark, .enclosingMark: c.insert(.mark)
        case .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol: c.insert(.symbol)
        default: break
        }
        if s.properties.isWhitespace { c.insert(.whitespace) }
        if v == 0x0A || v == 0x0D { c.insert(.newline) }
        return c
    }

    /// One byte per BMP scalar, built once (about 2 ms).
    static let bmp: [UInt8] = {
        var t = [UInt8](repeating: 0, count: 0x10000)
        for v in 0..<0x10000 where !(0xD800..<0xE000).contains(v) { t[v] = compute(UInt32(v)).rawValue }
        return t
    }()
}

/// Decodes UTF-8 bytes into scalar values with the byte offset where each starts. Input must be valid
/// UTF-8 (Swift strings always are).
@inline(__always)
func decodeScalars(_ bytes: UnsafeBufferPointer<UInt8>, into values: inout [UInt32], offsets: inout [Int32]) {
    values.removeAll(keepingCapacity: true)
    offsets.removeAll(keepingCapacity: true)
    var i = 0
    let n = bytes.count
    while i < n {
        let b0 = UInt32(bytes[i])
        offsets.append(Int32(i))
        if b0 < 0x80 {
            values.append(b0)
            i += 1
        } else if b0 < 0xE0 {
            values.append((b0 & 0x1F) << 6 | UInt32(bytes[i + 1] & 0x3F))
            i += 2
        } else if b0 < 0xF0 {
            values.append((b0 & 0x0F) << 12 | UInt32(bytes[i + 1] & 0x3F) << 6 | UInt32(bytes[i + 2] & 0x3F))
            i += 3
        } else {
            values.append(
                (b0 & 0x07) << 18 | UInt32(bytes[i + 1] & 0x3F) << 12 | UInt32(bytes[i + 2] & 0x3F) << 6
                    | UInt32(bytes[i + 3] & 0x3F))
            i += 4
        }
    }
    offsets.append(Int32(n))
}

/// Whether the bytes are well-formed UTF-8 (Unicode table 3-7: no overlong forms, no surrogates, nothing
/// past U+10FFFF); eight ASCII bytes are checked at a time.
func isValidUTF8(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
    guard let p = b.baseAddress else { return true }
    let n = b.count
    var i = 0
    while i < n {
        if i + 8 <= n {
            let high = UInt64(littleEndian: UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self)) & 0x8080_8080_8080_8080
            if high == 0 {
                i += 8
                continue
            }
            i += high.trailingZeroBitCount / 8  // past the ASCII bytes before the first other one
        }
        let c = p[i]
        if c < 0x80 {
            i += 1
            continue
        }
        @inline(__always) func cont(_ k: Int) -> Bool { i + k < n && p[i + k] & 0xC0 == 0x80 }
        switch c {
        case 0xC2...0xDF:
            guard cont(1) else { return false }
            i += 2
        case 0xE0...0xEF:
            guard cont(1), cont(2) else { return false }
            if c == 0xE0 && p[i + 1] < 0xA0 { return false }  // overlong
            if c == 0xED && p[i + 1] > 0x9F { return false }  // surrogates
            i += 3
        case 0xF0...0xF4:
            guard cont(1), cont(2), cont(3) else { return false }
            if c == 0xF0 && p[i + 1] < 0x90 { return false }  // overlong
            if c == 0xF4 && p[i + 1] > 0x8F { return false }  // past U+10FFFF
            i += 4
        default:
            return false
        }
    }
    return true
}
