"""Write TensorFlow's own .proto files, exactly as the pinned wheel was built from them, into proto/.

The tensorflow-cpu wheel ships no .proto files, but every generated *_pb2 module embeds its
source file as a serialized FileDescriptorProto. This script prints those descriptors back as
.proto text (messages, enums, fields, maps, oneofs, reserved ranges, encoding options; comments
and language options are not part of a descriptor and are lost), starting from the messages
tfreuse uses and following every import. `make protos` runs it; build.rs compiles the result
with protox + prost-build, so building tfreuse needs neither protoc nor TensorFlow.

Usage: python dump_protos.py OUT_DIR
"""

import importlib
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from google.protobuf import descriptor_pb2  # noqa: E402

# The files whose messages tfreuse reads or writes; their imports come along.
ROOTS = [
    "tensorflow.core.protobuf.meta_graph_pb2",
    "tensorflow.core.protobuf.saved_model_pb2",
    "tensorflow.core.protobuf.saver_pb2",
    "tensorflow.core.protobuf.config_pb2",
    "tensorflow.core.protobuf.tensorflow_server_pb2",
    "tensorflow.core.protobuf.tensor_bundle_pb2",
    "tensorflow.core.util.event_pb2",
    "tensorflow.core.framework.summary_pb2",
]

F = descriptor_pb2.FieldDescriptorProto
SCALAR = {
    F.TYPE_DOUBLE: "double", F.TYPE_FLOAT: "float", F.TYPE_INT64: "int64", F.TYPE_UINT64: "uint64",
    F.TYPE_INT32: "int32", F.TYPE_FIXED64: "fixed64", F.TYPE_FIXED32: "fixed32", F.TYPE_BOOL: "bool",
    F.TYPE_STRING: "string", F.TYPE_BYTES: "bytes", F.TYPE_UINT32: "uint32", F.TYPE_SFIXED32: "sfixed32",
    F.TYPE_SFIXED64: "sfixed64", F.TYPE_SINT32: "sint32", F.TYPE_SINT64: "sint64",
}


def type_of(f):
    return SCALAR.get(f.type) or f.type_name


def field_options(f):
    opts = []
    if f.options.HasField("packed"):
        opts.append(f"packed = {'true' if f.options.packed else 'false'}")
    if f.options.deprecated:
        opts.append("deprecated = true")
    if f.HasField("default_value"):
        v = f.default_value
        if f.type in (F.TYPE_STRING, F.TYPE_BYTES):
            v = '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        opts.append(f"default = {v}")
    return f" [{', '.join(opts)}]" if opts else ""


def label_of(f, syntax):
    if f.label == F.LABEL_REPEATED:
        return "repeated "
    if f.label == F.LABEL_REQUIRED:
        return "required "
    if f.proto3_optional or syntax == "proto2":
        return "optional "
    return ""


def reserved(out, ind, msg_or_enum, end_inclusive):
    for r in msg_or_enum.reserved_range:
        end = r.end if end_inclusive else r.end - 1
        out.append(f"{ind}reserved {r.start}{'' if end == r.start else f' to {end}'};")
    if msg_or_enum.reserved_name:
        out.append(f"{ind}reserved {', '.join(repr(n).replace(chr(39), chr(34)) for n in msg_or_enum.reserved_name)};")


def enum(out, e, ind):
    out.append(f"{ind}enum {e.name} {{")
    if e.options.allow_alias:
        out.append(f"{ind}  option allow_alias = true;")
    for v in e.value:
        dep = " [deprecated = true]" if v.options.deprecated else ""
        out.append(f"{ind}  {v.name} = {v.number}{dep};")
    reserved(out, ind + "  ", e, end_inclusive=True)
    out.append(f"{ind}}}")


def message(out, m, ind, syntax):
    out.append(f"{ind}message {m.name} {{")
    maps = {n.name: n for n in m.nested_type if n.options.map_entry}
    done_oneofs = set()
    # Field-number order: prost encodes fields in the order they are declared, Python and C++
    # in number order; declaring them sorted makes the bytes agree.
    for f in sorted(m.field, key=lambda f: f.number):
        real_oneof = f.HasField("oneof_index") and not f.proto3_optional
        if real_oneof:
            if f.oneof_index in done_oneofs:
                continue
            done_oneofs.add(f.oneof_index)
            out.append(f"{ind}  oneof {m.oneof_decl[f.oneof_index].name} {{")
            for g in sorted(m.field, key=lambda f: f.number):
                if g.HasField("oneof_index") and not g.proto3_optional and g.oneof_index == f.oneof_index:
                    out.append(f"{ind}    {type_of(g)} {g.name} = {g.number}{field_options(g)};")
            out.append(f"{ind}  }}")
            continue
        entry = maps.get(f.type_name.rsplit(".", 1)[-1]) if f.type == F.TYPE_MESSAGE else None
        if entry is not None and f.label == F.LABEL_REPEATED:
            k, v = entry.field[0], entry.field[1]
            out.append(f"{ind}  map<{type_of(k)}, {type_of(v)}> {f.name} = {f.number}{field_options(f)};")
        else:
            out.append(f"{ind}  {label_of(f, syntax)}{type_of(f)} {f.name} = {f.number}{field_options(f)};")
    for n in m.nested_type:
        if not n.options.map_entry:
            message(out, n, ind + "  ", syntax)
    for e in m.enum_type:
        enum(out, e, ind + "  ")
    reserved(out, ind + "  ", m, end_inclusive=False)
    out.append(f"{ind}}}")


def render(fd):
    syntax = fd.syntax or "proto2"
    out = [
        f"// {fd.name}",
        "// TensorFlow's own definition, printed back from the descriptor embedded in the pinned",
        "// tensorflow-cpu wheel by python/dump_protos.py. Copyright The TensorFlow Authors,",
        "// Apache License 2.0 (see proto/LICENSE). Do not edit: run `make protos`.",
        "",
        f'syntax = "{syntax}";',
        "",
    ]
    if fd.package:
        out += [f"package {fd.package};", ""]
    for i, dep in enumerate(fd.dependency):
        kind = "public " if i in fd.public_dependency else "weak " if i in fd.weak_dependency else ""
        out.append(f'import {kind}"{dep}";')
    if fd.dependency:
        out.append("")
    for m in fd.message_type:
        message(out, m, "", syntax)
        out.append("")
    for e in fd.enum_type:
        enum(out, e, "")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def main():
    out_dir = sys.argv[1]
    seen = {}
    stack = [importlib.import_module(m).DESCRIPTOR for m in ROOTS]
    while stack:
        d = stack.pop()
        if d.name in seen or d.name.startswith("google/protobuf/"):
            continue  # protox carries the well-known types itself
        seen[d.name] = d
        stack.extend(d.dependencies)
    for name, d in sorted(seen.items()):
        fd = descriptor_pb2.FileDescriptorProto.FromString(d.serialized_pb)
        path = os.path.join(out_dir, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(render(fd))
    import tensorflow as tf
    print(f"wrote {len(seen)} .proto files of TensorFlow {tf.__version__} to {out_dir}")


if __name__ == "__main__":
    main()
