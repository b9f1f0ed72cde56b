# SPDX-License-Identifier: MIT
# cma-peers, Cap'n Proto: the nodes as one list of structs linked by index.
@0xb20b4db6e9381fde;

$import "/capnp/c++.capnp".namespace("peers::cp");

struct Node1 {
  x @0 :UInt32;
  l0 @1 :UInt32;
}

struct Node2 {
  x @0 :UInt32;
  l0 @1 :UInt32;
  l1 @2 :UInt32;
}

struct Nodes {
  root @0 :UInt32;
  one @1 :List(Node1);
  two @2 :List(Node2);
}
