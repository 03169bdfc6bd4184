// Widening of every element type to float32. Plain floats are converted exactly
// (f16/bf16/f8 widen without rounding); integers convert as Float(x); block types are
// dequantized by GGMLQuants as ggml does.

/// Conversions of raw little-endian element bytes to float32.
public enum Widen {
    /// Table of the 65536 float16 bit patterns as float32: one load per element instead of a
    /// conversion call (Float(Float16) is a function call per element on the default target).
    nonisolated(unsafe) public static let f16Table: UnsafeMutablePointer<Float> = {
        let t = UnsafeMutablePointer<Float>.allocate(capacity: 65536)
        for i in 0..<65536 { t[i] = halfToFloat(UInt16(i)) }
        return t
    }()

    /// IEEE binary16 bits to float32, exactly.
    @inlinable public static func halfToFloat(_ h: UInt16) -> Float {
        let sign = UInt32(h & 0x8000) << 16
        let exp = Int((h >> 10) & 0x1F)
        let man = UInt32(h & 0x3FF)
        if exp == 0 {
            // zero or subnormal: man * 2^-24
            let v = Float(man) * Float(bitPattern: 0x3380_0000)  // 2^-24
            return sign != 0 ? -v : v
        }
        if exp == 31 { return Float(bitPattern: sign | 0x7F80_0000 | (man << 13)) }
        return Float(bitPattern: sign | UInt32(exp - 15 + 127) << 23 | (man << 13))
    }

    /// float16 bits to float32 through the table.
    @inlinable public static func half(_ h: UInt16) -> Float { f16Table[Int(h)] }

    /// bfloat16 bits to float32: the upper half of the float32 bit pattern.
    @inlinable public static func bfloat(_ b: UInt16) -> Float { Float(bitPattern: UInt32(b) << 16) }

    /// float8 e4m3fn bits to float32: bias 7, no infinities, S.1111.111 is NaN.
    public static func f8e4m3(_ b: UInt8) -> Float {
        let sign: Float = b & 0x80 != 0 ? -1 : 1
        let exp = Int((b >> 3) & 0xF)
        let man = Float(b & 0x7)
        if exp == 15 && b & 0x7 == 7 { return .nan }
        if exp == 0 { return sign * man / 8 * Float(sign: .plus, exponent: -6, significand: 1) }
        return sign * (1 + man / 8) * Float(sign: .plus, exponent: exp - 7, significand: 1)
    }

    /// float8 e5m2 bits to float32: the upper byte of a float16.
    @inlinable public static func f8e5m2(_ b: UInt8) -> Float { halfToFloat(UInt16(b) << 8) }

    /// Widens `count` elements of `dtype` from `src` into `dst`.
    public static func toFloat32(
        _ dtype: DType, _ src: UnsafeRawBufferPointer, into dst: UnsafeMutablePointer<Float>, count: Int,
        tensor: String = ""
    ) throws {
        guard let need = dtype.byteCount(elements: count), need <= src.count else {
            throw TensorCoreError("tensor '\(tensor)': \(count) elements of \(dtype.rawValue) do not fit in \(src.count) bytes")
        }
        if count == 0 { return }
        if dtype.isQuantized {
            try GGMLQuants.dequantize(dtype, src, into: dst, count: count, tensor: tensor)
        } else {
            plain(dtype, src.baseAddress!, into: dst, count: count)
        }
    }

    /// Widens plain (non-block) types; the caller checked the sizes. Kept a separate non-throwing
    /// function: with Swift 6.3's optimizer, this switch inside the throwing function above
    /// returned a non-zero error register from the f32 branch when called from another module in
    /// release builds (a miscompile reproduced with a two-module package; see the commit).
    @inline(never)
    static func plain(_ dtype: DType, _ p: UnsafeRawPointer, into dst: UnsafeMutablePointer<Float>, count: Int) {
        switch dtype {
        case .f32:
            (UnsafeMutableRawPointer(dst)).copyMemory(from: p, byteCount: 4 * count)
        case .f64:
            for i in 0..<count { dst[i] = Float(Double(bitPattern: UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))) }
        case .f16:
            for i in 0..<count { dst[i] = f16Table[Int(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))] }
        case .bf16:
            for i in 0..<count { dst[i] = bfloat(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
        case .f8_e4m3:
            for i in 0..<count { dst[i] = f8e4m3(p.load(fromByteOffset: i, as: UInt8.self)) }
        case .f8_e5m2:
            for i in 0..<count { dst[i] = f8e5m2(p.load(fromByteOffset: i, as: UInt8.self)) }
        case .i8:
            for i in 0..<count { dst[i] = Float(p.load(fromByteOffset: i, as: Int8.self)) }
        case .u8:
            for i in 0..<count { dst[i] = Float(p.load(fromByteOffset: i, as: UInt8.self)) }
        case .bool:
            for i in 0..<count { dst[i] = p.load(fromByteOffset: i, as: UInt8.self) == 0 ? 0 : 1 }
        case .i16:
            for i in 0..<count { dst[i] = Float(Int16(littleEndian: p.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self))) }
        case .u16:
            for i in 0..<count { dst[i] = Float(UInt16(littleEndian: p.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) }
        case .i32:
            for i in 0..<count { dst[i] = Float(Int32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))) }
        case .u32:
            for i in 0..<count { dst[i] = Float(UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
        case .i64:
            for i in 0..<count { dst[i] = Float(Int64(littleEndian: p.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self))) }
        case .u64:
            for i in 0..<count { dst[i] = Float(UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))) }
        default:
            preconditionFailure("plain widening called with block type \(dtype)")
        }
    }
}
