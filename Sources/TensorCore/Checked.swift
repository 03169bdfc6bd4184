// Overflow-checked arithmetic for numbers read from files: every length, count, offset and
// shape product goes through these before it sizes an allocation or a loop.

public enum Checked {
    /// `a * b`, or nil on overflow.
    @inlinable public static func mul(_ a: Int, _ b: Int) -> Int? {
        let (r, o) = a.multipliedReportingOverflow(by: b)
        return o ? nil : r
    }

    /// `a + b`, or nil on overflow.
    @inlinable public static func add(_ a: Int, _ b: Int) -> Int? {
        let (r, o) = a.addingReportingOverflow(b)
        return o ? nil : r
    }

    /// The product of `dims`, or nil when a dimension is negative or the product overflows.
    /// The empty shape (a scalar) has one element.
    @inlinable public static func product(_ dims: [Int]) -> Int? {
        var p = 1
        for d in dims {
            guard d >= 0, let n = mul(p, d) else { return nil }
            p = n
        }
        return p
    }

    /// A `UInt64` read from a file as an `Int`, or nil when it does not fit.
    @inlinable public static func int(_ v: UInt64) -> Int? {
        v <= UInt64(Int.max) ? Int(v) : nil
    }
}
