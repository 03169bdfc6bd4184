// The pickle opcodes, by byte: the ones the restricted unpickler runs and, for messages, the names
// of the ones it refuses.

/// Opcodes the restricted unpickler executes (protocols 2–5, the subset a state dict needs).
enum PickleOpcode: UInt8 {
    case proto = 0x80, frame = 0x95, stop = 0x2E
    case global = 0x63, stackGlobal = 0x93, reduce = 0x52, newObj = 0x81, build = 0x62, binPersId = 0x51
    case mark = 0x28, tuple = 0x74, emptyTuple = 0x29, tuple1 = 0x85, tuple2 = 0x86, tuple3 = 0x87
    case emptyList = 0x5D, list = 0x6C, emptyDict = 0x7D, dict = 0x64
    case append = 0x61, appends = 0x65, setItem = 0x73, setItems = 0x75
    case binInt = 0x4A, binInt1 = 0x4B, binInt2 = 0x4D, long1 = 0x8A, binFloat = 0x47
    case binUnicode = 0x58, shortBinUnicode = 0x8C, binUnicode8 = 0x8D, shortBinString = 0x55
    case binBytes = 0x42, shortBinBytes = 0x43, binBytes8 = 0x8E
    case binGet = 0x68, longBinGet = 0x6A, binPut = 0x71, longBinPut = 0x72, memoize = 0x94
    case none = 0x4E, newTrue = 0x88, newFalse = 0x89

    var name: String {
        switch self {
        case .proto: return "PROTO"
        case .frame: return "FRAME"
        case .stop: return "STOP"
        case .global: return "GLOBAL"
        case .stackGlobal: return "STACK_GLOBAL"
        case .reduce: return "REDUCE"
        case .newObj: return "NEWOBJ"
        case .build: return "BUILD"
        case .binPersId: return "BINPERSID"
        case .mark: return "MARK"
        case .tuple: return "TUPLE"
        case .emptyTuple: return "EMPTY_TUPLE"
        case .tuple1: return "TUPLE1"
        case .tuple2: return "TUPLE2"
        case .tuple3: return "TUPLE3"
        case .emptyList: return "EMPTY_LIST"
        case .list: return "LIST"
        case .emptyDict: return "EMPTY_DICT"
        case .dict: return "DICT"
        case .append: return "APPEND"
        case .appends: return "APPENDS"
        case .setItem: return "SETITEM"
        case .setItems: return "SETITEMS"
        case .binInt: return "BININT"
        case .binInt1: return "BININT1"
        case .binInt2: return "BININT2"
        case .long1: return "LONG1"
        case .binFloat: return "BINFLOAT"
        case .binUnicode: return "BINUNICODE"
        case .shortBinUnicode: return "SHORT_BINUNICODE"
        case .binUnicode8: return "BINUNICODE8"
        case .shortBinString: return "SHORT_BINSTRING"
        case .binBytes: return "BINBYTES"
        case .shortBinBytes: return "SHORT_BINBYTES"
        case .binBytes8: return "BINBYTES8"
        case .binGet: return "BINGET"
        case .longBinGet: return "LONG_BINGET"
        case .binPut: return "BINPUT"
        case .longBinPut: return "LONG_BINPUT"
        case .memoize: return "MEMOIZE"
        case .none: return "NONE"
        case .newTrue: return "NEWTRUE"
        case .newFalse: return "NEWFALSE"
        }
    }

    /// Names of the opcodes that exist in pickle but are refused, with why when it matters.
    static let refused: [UInt8: String] = [
        0x69: "INST (calls a class by name)", 0x6F: "OBJ (calls a class)", 0x92: "NEWOBJ_EX (calls a class with keywords)",
        0x82: "EXT1 (the copyreg extension registry)", 0x83: "EXT2 (the copyreg extension registry)",
        0x84: "EXT4 (the copyreg extension registry)", 0x50: "PERSID (text persistent id)", 0x30: "POP", 0x31: "POP_MARK",
        0x32: "DUP", 0x46: "FLOAT (text)", 0x49: "INT (text)", 0x4C: "LONG (text)", 0x8B: "LONG4", 0x53: "STRING (text)",
        0x54: "BINSTRING", 0x56: "UNICODE (text)", 0x67: "GET (text)", 0x70: "PUT (text)", 0x8F: "EMPTY_SET",
        0x90: "ADDITEMS", 0x91: "FROZENSET", 0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER",
    ]
}
