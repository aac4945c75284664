<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<!--
  Texts of Qt's own dialogs that Qt's Chinese catalogue (qtbase_zh_CN.qm, shipped with PySide6) lacks: it
  lags behind Qt's sources (QFileDialog's labels gained mnemonics; Qt 6 names file types in
  QAbstractFileIconProvider). Kept by hand: lupdate does not read Qt's sources. Loaded after Qt's catalogue,
  so Qt asks it first. tests/ui/test_chinese_ui.py finds any that are still missing.
-->
<TS version="2.1" language="zh_CN">
<context>
    <name>QFileDialog</name>
    <message>
        <source>&amp;Look in:</source>
        <translation>查找范围(&amp;L)：</translation>
    </message>
    <message>
        <source>Files of &amp;type:</source>
        <translation>文件类型(&amp;T)：</translation>
    </message>
</context>
<context>
    <name>QAbstractFileIconProvider</name>
    <message>
        <source>Drive</source>
        <translation>驱动器</translation>
    </message>
    <message>
        <source>Folder</source>
        <comment>All other platforms</comment>
        <translation>文件夹</translation>
    </message>
    <message>
        <source>Unknown</source>
        <translation>未知</translation>
    </message>
</context>
</TS>
