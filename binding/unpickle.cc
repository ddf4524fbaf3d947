// Reads torch.save's zip archives with a small, safe unpickler: the subset of
// pickle that Python's torch.load(weights_only=True) accepts for state dicts
// and checkpoints. libtorch's own torch::jit::pickle_load cannot read what
// Python writes for a state_dict: it turns collections.OrderedDict into None
// (it only expects one as a tensor's empty backward-hooks) and then fails on
// the dict's items and on the BUILD of its `_metadata` attribute.
//
// Supported: dicts (and OrderedDicts, whose attributes are dropped), lists,
// tuples, None, bools, ints, floats, strings, and tensors rebuilt by
// torch._utils._rebuild_tensor_v2 / _rebuild_parameter from the archive's
// storages. Any other global is refused, so no code from the file ever runs.
#include "unpickle.h"

#include <ATen/EmptyTensor.h>
#include <caffe2/serialize/in_memory_adapter.h>
#include <caffe2/serialize/inline_container.h>

#include <algorithm>
#include <memory>

#include <cstring>
#include <unordered_map>

namespace tb {

namespace {

// One stack entry: a value, or the things a pickle handles on the way to one
// (a global such as a storage type or a rebuild function, a storage, or a
// tuple holding those).
struct Item {
  enum Kind { kValue, kGlobal, kStorage, kTuple } kind = kValue;
  c10::IValue value;
  std::string global;  // "module.name" for kGlobal
  at::Storage storage;
  at::ScalarType dtype = at::kFloat;
  std::shared_ptr<const std::vector<Item>> elems;  // kTuple: shared, so copies (memo, DUP) are O(1)

  static Item Value(c10::IValue v) {
    Item i;
    i.value = std::move(v);
    return i;
  }
};

constexpr int kMaxDepth = 512;

c10::IValue ToValue(const Item& item, int depth = 0) {
  TORCH_CHECK(depth < kMaxDepth, "value nested too deeply");
  switch (item.kind) {
    case Item::kValue:
      return item.value;
    case Item::kTuple: {
      // Only tuples holding a global or a storage stay Items (see PushTuple), so
      // this stops at the first such leaf: no walk over shared sub-tuples.
      std::vector<c10::IValue> out;
      out.reserve(item.elems->size());
      for (const auto& e : *item.elems) out.push_back(ToValue(e, depth + 1));
      return c10::ivalue::Tuple::create(std::move(out));
    }
    case Item::kGlobal:
      TORCH_CHECK(false, "unsupported value: the global ", item.global);
    case Item::kStorage:
      TORCH_CHECK(false, "unsupported value: a bare storage");
  }
  return {};
}

std::vector<int64_t> IntTuple(const Item& item, const char* what) {
  std::vector<int64_t> out;
  auto take = [&](const c10::IValue& v) {
    TORCH_CHECK(v.isInt(), what, " must be a tuple of ints");
    out.push_back(v.toInt());
  };
  if (item.kind == Item::kTuple) {
    for (const auto& e : *item.elems) {
      TORCH_CHECK(e.kind == Item::kValue, what, " must be a tuple of ints");
      take(e.value);
    }
  } else if (item.kind == Item::kValue && item.value.isTuple()) {
    for (const auto& e : item.value.toTupleRef().elements()) take(e);
  } else if (item.kind == Item::kValue && item.value.isList()) {
    for (const auto& e : item.value.toListRef()) take(e);
  } else {
    TORCH_CHECK(false, what, " must be a tuple of ints");
  }
  return out;
}

const std::vector<Item>& TupleElems(const Item& item, std::vector<Item>& store, const char* what) {
  if (item.kind == Item::kTuple) return *item.elems;
  TORCH_CHECK(item.kind == Item::kValue && item.value.isTuple(), what, ": expected a tuple of arguments");
  for (const auto& e : item.value.toTupleRef().elements()) store.push_back(Item::Value(e));
  return store;
}

std::optional<at::ScalarType> StorageDtype(const std::string& name) {
  static const std::unordered_map<std::string, at::ScalarType> kinds = {
      {"torch.FloatStorage", at::kFloat},   {"torch.DoubleStorage", at::kDouble},
      {"torch.HalfStorage", at::kHalf},     {"torch.BFloat16Storage", at::kBFloat16},
      {"torch.LongStorage", at::kLong},     {"torch.IntStorage", at::kInt},
      {"torch.ShortStorage", at::kShort},   {"torch.CharStorage", at::kChar},
      {"torch.ByteStorage", at::kByte},     {"torch.BoolStorage", at::kBool},
      {"torch.ComplexFloatStorage", at::kComplexFloat}, {"torch.ComplexDoubleStorage", at::kComplexDouble},
  };
  auto it = kinds.find(name);
  if (it == kinds.end()) return std::nullopt;
  return it->second;
}

bool Allowed(const std::string& name) {
  return name == "collections.OrderedDict" || name == "torch._utils._rebuild_tensor_v2" ||
         name == "torch._utils._rebuild_tensor" || name == "torch._utils._rebuild_parameter" ||
         name == "torch._utils._rebuild_parameter_with_state" || StorageDtype(name).has_value();
}

class Unpickler {
 public:
  Unpickler(const char* data, size_t size, caffe2::serialize::PyTorchStreamReader& reader)
      : p_(data), end_(data + size), reader_(reader) {}

  c10::IValue Run() {
    for (;;) {
      uint8_t op = Read<uint8_t>();
      if (op == '.') break;
      Step(op);
    }
    TORCH_CHECK(stack_.size() == 1, "malformed pickle: ", stack_.size(), " values left at STOP");
    return ToValue(stack_.back());
  }

 private:
  template <typename T>
  T Read() {
    TORCH_CHECK(static_cast<size_t>(end_ - p_) >= sizeof(T), "truncated pickle");
    T v;
    std::memcpy(&v, p_, sizeof(T));
    p_ += sizeof(T);
    return v;  // little-endian hosts only (x86, arm64), as libtorch itself
  }
  std::string ReadBytes(uint64_t n) {
    TORCH_CHECK(static_cast<uint64_t>(end_ - p_) >= n, "truncated pickle");
    std::string s(p_, p_ + n);
    p_ += n;
    return s;
  }
  std::string ReadLine() {
    const char* nl = static_cast<const char*>(std::memchr(p_, '\n', end_ - p_));
    TORCH_CHECK(nl, "truncated pickle");
    std::string s(p_, nl);
    p_ = nl + 1;
    return s;
  }

  Item Pop() {
    TORCH_CHECK(!stack_.empty(), "malformed pickle: stack underflow");
    Item i = std::move(stack_.back());
    stack_.pop_back();
    return i;
  }
  Item& Top(size_t fromEnd = 0) {
    TORCH_CHECK(stack_.size() > fromEnd, "malformed pickle: stack underflow");
    return stack_[stack_.size() - 1 - fromEnd];
  }
  // Pops everything above the last MARK.
  std::vector<Item> PopMark() {
    TORCH_CHECK(!marks_.empty(), "malformed pickle: no MARK");
    size_t start = marks_.back();
    marks_.pop_back();
    TORCH_CHECK(start <= stack_.size(), "malformed pickle: bad MARK");
    std::vector<Item> items(std::make_move_iterator(stack_.begin() + start), std::make_move_iterator(stack_.end()));
    stack_.erase(stack_.begin() + start, stack_.end());
    return items;
  }
  // A tuple of plain values becomes an IValue tuple right away; one holding a
  // global or a storage (a persistent id, a rebuild call's arguments) stays an Item.
  void PushTuple(std::vector<Item> elems) {
    bool plain = std::all_of(elems.begin(), elems.end(), [](const Item& e) { return e.kind == Item::kValue; });
    if (plain) {
      std::vector<c10::IValue> values;
      values.reserve(elems.size());
      for (auto& e : elems) values.push_back(std::move(e.value));
      stack_.push_back(Item::Value(c10::ivalue::Tuple::create(std::move(values))));
      return;
    }
    Item t;
    t.kind = Item::kTuple;
    t.elems = std::make_shared<const std::vector<Item>>(std::move(elems));
    stack_.push_back(std::move(t));
  }
  // A handle sharing the list's storage: appending to it appends to the list.
  static c10::impl::GenericList ListAt(Item& item) {
    TORCH_CHECK(item.kind == Item::kValue && item.value.isList(), "malformed pickle: APPEND to a non-list");
    return item.value.toList();
  }
  void SetItems(Item& target, std::vector<Item>& kv) {
    TORCH_CHECK(target.kind == Item::kValue && target.value.isGenericDict(), "malformed pickle: SETITEM on a non-dict");
    TORCH_CHECK(kv.size() % 2 == 0, "malformed pickle: odd SETITEMS");
    auto dict = target.value.toGenericDict();
    for (size_t i = 0; i < kv.size(); i += 2) {
      auto key = ToValue(kv[i]);
      TORCH_CHECK(key.isString() || key.isInt(), "unsupported dict key of type ", key.tagKind());
      dict.insert_or_assign(std::move(key), ToValue(kv[i + 1]));
    }
  }
  void Memo(uint64_t index) {
    TORCH_CHECK(!stack_.empty(), "malformed pickle: PUT on an empty stack");
    memo_[index] = stack_.back();
  }
  void Get(uint64_t index) {
    auto it = memo_.find(index);
    TORCH_CHECK(it != memo_.end(), "malformed pickle: memo ", index, " not set");
    stack_.push_back(it->second);
  }

  void Global(std::string module, std::string name) {
    std::string full = module + "." + name;
    TORCH_CHECK(Allowed(full), "Unpickler found unknown type ", full,
                ": load() reads only tensors, dicts, lists, tuples, strings and numbers, and never runs code");
    Item g;
    g.kind = Item::kGlobal;
    g.global = std::move(full);
    stack_.push_back(std::move(g));
  }

  // BINPERSID: ('storage', storage type, key, location, numel) -> a storage.
  void PersistentLoad() {
    Item id = Pop();
    std::vector<Item> store;
    const auto& e = TupleElems(id, store, "persistent id");
    TORCH_CHECK(e.size() >= 5 && e[0].kind == Item::kValue && e[0].value.isString() &&
                    e[0].value.toStringRef() == "storage",
                "unsupported persistent id");
    TORCH_CHECK(e[1].kind == Item::kGlobal, "storage type must be a torch storage class");
    auto dtype = StorageDtype(e[1].global);
    TORCH_CHECK(dtype, "unsupported storage type ", e[1].global);
    TORCH_CHECK(e[2].kind == Item::kValue && e[2].value.isString(), "storage key must be a string");
    TORCH_CHECK(e[4].kind == Item::kValue && e[4].value.isInt() && e[4].value.toInt() >= 0, "storage size must be an int");
    const std::string key = e[2].value.toStringRef();
    auto it = storages_.find(key);
    if (it == storages_.end()) {
      size_t itemsize = c10::elementSize(*dtype);
      auto numel = static_cast<uint64_t>(e[4].value.toInt());
      TORCH_CHECK(numel < (uint64_t{1} << 50) / itemsize, "storage too large");
      size_t nbytes = numel * itemsize;
      at::DataPtr data;
      std::string record = "data/" + key;
      TORCH_CHECK(reader_.hasRecord(record), "missing storage record ", record);
      size_t have = reader_.getRecordSize(record);
      TORCH_CHECK(have >= nbytes, "storage ", key, " has ", have, " bytes but needs ", nbytes);
      if (nbytes > 0) data = std::get<0>(reader_.getRecord(record));
      at::Storage s(c10::Storage::use_byte_size_t(), nbytes, std::move(data), nullptr, /*resizable=*/false);
      it = storages_.emplace(key, std::make_pair(s, *dtype)).first;
    }
    TORCH_CHECK(it->second.second == *dtype, "storage ", key, " is used with two dtypes");
    Item s;
    s.kind = Item::kStorage;
    s.storage = it->second.first;
    s.dtype = *dtype;
    stack_.push_back(std::move(s));
  }

  at::Tensor RebuildTensor(const std::vector<Item>& a) {
    TORCH_CHECK(a.size() >= 4 && a[0].kind == Item::kStorage, "_rebuild_tensor_v2: expected (storage, offset, size, stride, ...)");
    TORCH_CHECK(a[1].kind == Item::kValue && a[1].value.isInt(), "_rebuild_tensor_v2: offset must be an int");
    int64_t offset = a[1].value.toInt();
    auto sizes = IntTuple(a[2], "size"), strides = IntTuple(a[3], "stride");
    TORCH_CHECK(sizes.size() == strides.size(), "size and stride differ in length");
    TORCH_CHECK(offset >= 0, "negative storage offset");
    for (size_t i = 0; i < sizes.size(); ++i) TORCH_CHECK(sizes[i] >= 0 && strides[i] >= 0, "negative size or stride");
    // Every element must lie inside the storage, so nothing is read past its end
    // (computeStorageNbytes checks the arithmetic for overflow).
    size_t need = at::detail::computeStorageNbytes(sizes, strides, c10::elementSize(a[0].dtype),
                                                   static_cast<size_t>(offset));
    TORCH_CHECK(need <= a[0].storage.nbytes(), "a tensor of size ", c10::IntArrayRef(sizes), ", stride ",
                c10::IntArrayRef(strides), " and offset ", offset, " would require a storage of at least ", need,
                " bytes, but storage only has ", a[0].storage.nbytes(), " bytes");
    auto t = at::empty({0}, at::TensorOptions().dtype(a[0].dtype));
    t.set_(a[0].storage, offset, sizes, strides);
    bool requiresGrad = a.size() > 4 && a[4].kind == Item::kValue && a[4].value.isBool() && a[4].value.toBool();
    if (requiresGrad && t.is_floating_point()) t.requires_grad_(true);
    return t;
  }

  void Reduce(Item fn, Item args) {
    TORCH_CHECK(fn.kind == Item::kGlobal, "malformed pickle: REDUCE of a non-callable");
    std::vector<Item> store;
    const auto& a = TupleElems(args, store, fn.global.c_str());
    if (fn.global == "collections.OrderedDict") {
      auto dict = c10::impl::GenericDict(c10::AnyType::get(), c10::AnyType::get());
      Item d = Item::Value(dict);
      if (!a.empty()) {  // OrderedDict([(k, v), ...])
        auto pairs = ToValue(a[0]);
        TORCH_CHECK(pairs.isList(), "OrderedDict: expected a list of pairs");
        for (const auto& kv : pairs.toListRef()) {
          TORCH_CHECK(kv.isTuple() && kv.toTupleRef().elements().size() == 2, "OrderedDict: expected pairs");
          const auto& el = kv.toTupleRef().elements();
          TORCH_CHECK(el[0].isString() || el[0].isInt(), "unsupported dict key of type ", el[0].tagKind());
          dict.insert_or_assign(el[0], el[1]);
        }
      }
      stack_.push_back(std::move(d));
    } else if (fn.global == "torch._utils._rebuild_tensor_v2" || fn.global == "torch._utils._rebuild_tensor") {
      stack_.push_back(Item::Value(RebuildTensor(a)));
    } else if (fn.global == "torch._utils._rebuild_parameter" ||
               fn.global == "torch._utils._rebuild_parameter_with_state") {
      TORCH_CHECK(a.size() >= 2 && a[0].kind == Item::kValue && a[0].value.isTensor(), fn.global, ": expected a tensor");
      auto t = a[0].value.toTensor();
      if (a[1].kind == Item::kValue && a[1].value.isBool() && t.is_floating_point()) t.requires_grad_(a[1].value.toBool());
      stack_.push_back(Item::Value(t));
    } else {
      TORCH_CHECK(false, "unsupported call of ", fn.global);
    }
  }

  void Step(uint8_t op) {
    switch (op) {
      case 0x80: Read<uint8_t>(); break;   // PROTO
      case 0x95: Read<uint64_t>(); break;  // FRAME: a read-ahead hint
      case '(': marks_.push_back(stack_.size()); break;
      case '0': Pop(); break;
      case '1': PopMark(); break;
      case '2': {
        Item copy = Top();
        stack_.push_back(std::move(copy));
        break;
      }
      case 'N': stack_.push_back(Item::Value(c10::IValue())); break;
      case 0x88: stack_.push_back(Item::Value(true)); break;
      case 0x89: stack_.push_back(Item::Value(false)); break;
      case 'J': stack_.push_back(Item::Value(static_cast<int64_t>(Read<int32_t>()))); break;
      case 'K': stack_.push_back(Item::Value(static_cast<int64_t>(Read<uint8_t>()))); break;
      case 'M': stack_.push_back(Item::Value(static_cast<int64_t>(Read<uint16_t>()))); break;
      case 0x8a: {  // LONG1: little-endian two's complement
        uint8_t n = Read<uint8_t>();
        TORCH_CHECK(n <= 8, "integer too large");
        uint64_t v = 0;
        for (uint8_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(Read<uint8_t>()) << (8 * i);
        if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~uint64_t{0} << (8 * n);
        stack_.push_back(Item::Value(static_cast<int64_t>(v)));
        break;
      }
      case 'G': {  // BINFLOAT: big-endian
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits = (bits << 8) | Read<uint8_t>();
        double d;
        std::memcpy(&d, &bits, 8);
        stack_.push_back(Item::Value(d));
        break;
      }
      case 'X': stack_.push_back(Item::Value(ReadBytes(Read<uint32_t>()))); break;
      case 0x8c: stack_.push_back(Item::Value(ReadBytes(Read<uint8_t>()))); break;
      case 0x8d: stack_.push_back(Item::Value(ReadBytes(Read<uint64_t>()))); break;
      case 'U': stack_.push_back(Item::Value(ReadBytes(Read<uint8_t>()))); break;
      case 'T': stack_.push_back(Item::Value(ReadBytes(Read<uint32_t>()))); break;
      case ')': PushTuple({}); break;
      case 't': PushTuple(PopMark()); break;
      case 0x85: case 0x86: case 0x87: {
        size_t n = op - 0x84;
        TORCH_CHECK(stack_.size() >= n, "malformed pickle: stack underflow");
        std::vector<Item> e(std::make_move_iterator(stack_.end() - n), std::make_move_iterator(stack_.end()));
        stack_.erase(stack_.end() - n, stack_.end());
        PushTuple(std::move(e));
        break;
      }
      case ']': stack_.push_back(Item::Value(c10::impl::GenericList(c10::AnyType::get()))); break;
      case 'l': {
        auto items = PopMark();
        c10::impl::GenericList list(c10::AnyType::get());
        for (const auto& i : items) list.push_back(ToValue(i));
        stack_.push_back(Item::Value(std::move(list)));
        break;
      }
      case 'a': {
        Item v = Pop();
        ListAt(Top()).push_back(ToValue(v));
        break;
      }
      case 'e': {
        auto items = PopMark();
        auto list = ListAt(Top());
        for (const auto& i : items) list.push_back(ToValue(i));
        break;
      }
      case '}': stack_.push_back(Item::Value(c10::impl::GenericDict(c10::AnyType::get(), c10::AnyType::get()))); break;
      case 'd': {
        auto items = PopMark();
        Item d = Item::Value(c10::impl::GenericDict(c10::AnyType::get(), c10::AnyType::get()));
        SetItems(d, items);
        stack_.push_back(std::move(d));
        break;
      }
      case 's': {
        std::vector<Item> kv;
        kv.push_back(Pop());
        kv.insert(kv.begin(), Pop());
        SetItems(Top(), kv);
        break;
      }
      case 'u': {
        auto items = PopMark();
        SetItems(Top(), items);
        break;
      }
      case 'q': Memo(Read<uint8_t>()); break;
      case 'r': Memo(Read<uint32_t>()); break;
      case 0x94: Memo(memo_.size()); break;
      case 'h': Get(Read<uint8_t>()); break;
      case 'j': Get(Read<uint32_t>()); break;
      case 'c': {
        auto module = ReadLine();
        auto name = ReadLine();
        Global(module, name);
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        Item name = Pop(), module = Pop();
        TORCH_CHECK(module.kind == Item::kValue && module.value.isString() && name.kind == Item::kValue &&
                        name.value.isString(),
                    "malformed pickle: STACK_GLOBAL needs two strings");
        Global(module.value.toStringRef(), name.value.toStringRef());
        break;
      }
      case 'R': case 0x81: {  // REDUCE, NEWOBJ
        Item args = Pop();
        Item fn = Pop();
        Reduce(std::move(fn), std::move(args));
        break;
      }
      case 'b': {  // BUILD: only an OrderedDict's attributes (state_dict's _metadata), which are dropped
        Pop();
        TORCH_CHECK(Top().kind == Item::kValue && Top().value.isGenericDict(), "unsupported BUILD of a ",
                    Top().kind == Item::kValue ? Top().value.tagKind() : std::string("non-value"));
        break;
      }
      case 'Q': PersistentLoad(); break;
      default:
        TORCH_CHECK(false, "unsupported pickle opcode ", static_cast<int>(op));
    }
  }

  const char* p_;
  const char* end_;
  caffe2::serialize::PyTorchStreamReader& reader_;
  std::vector<Item> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, Item> memo_;
  std::unordered_map<std::string, std::pair<at::Storage, at::ScalarType>> storages_;
};

}  // namespace

void CheckArchive(caffe2::serialize::PyTorchStreamReader& reader, size_t file_size) {
  // Deflate makes at most 1032 bytes from one, so no record can hold more than this.
  const size_t most = 1032 * file_size + (size_t{1} << 20);
  for (const auto& name : reader.getAllRecords()) {
    bool climbs = name.empty() || name[0] == '/' || name[0] == '\\' || (name.size() > 1 && name[1] == ':');
    for (size_t start = 0; !climbs && start <= name.size();) {
      size_t end = name.find_first_of("/\\", start);
      if (end == std::string::npos) end = name.size();
      climbs = name.compare(start, end - start, "..") == 0 && end - start == 2;
      start = end + 1;
    }
    TORCH_CHECK(!climbs, "refusing archive record '", name, "': it points outside the archive");
    size_t size = reader.getRecordSize(name);
    TORCH_CHECK(size <= most, "refusing archive record '", name, "': it declares ", size, " bytes in a ", file_size,
                "-byte file");
  }
}

c10::IValue LoadArchive(caffe2::serialize::PyTorchStreamReader& reader) {
  if (reader.hasRecord("byteorder")) {
    auto [bytes, n] = reader.getRecord("byteorder");
    std::string order(static_cast<const char*>(bytes.get()), n);
    TORCH_CHECK(order == "little", "unsupported byte order '", order, "'");
  }
  TORCH_CHECK(reader.hasRecord("data.pkl"), "not a torch.save archive (no data.pkl)");
  auto [pickle, size] = reader.getRecord("data.pkl");
  return Unpickler(static_cast<const char*>(pickle.get()), size, reader).Run();
}

}  // namespace tb
