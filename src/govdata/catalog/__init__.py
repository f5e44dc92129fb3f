"""The unified data resource catalog (政务信息资源目录): resources, their information items, review, the four
lists, search and DCAT export."""
